"""The run on top: the pipeline (start, measure, extra rounds, finish) and the schedule of its tasks."""
