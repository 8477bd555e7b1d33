"""The child-process layer scenarios and backends use: tasks, the runner, process launch and the worker."""
