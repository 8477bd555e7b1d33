"""The ``training`` scenario: one variant trained with the profile's recipe, one record with its curves."""

from __future__ import annotations

from typing import Any

from reportgen.process.runner import Context, Task
from reportgen.scenarios.training.records import history_record
from reportgen.scenarios.training.trainer import load_data, peak_gpu_mb, recipe_settings, train
from reportgen.store.records import Setting
from reportgen.workloads.training.recipe import SGD_RULE


def run_recipe(task: Task, ctx: Context) -> dict[str, Any]:
    """Train ``task``'s variant with the recipe; PyTorch eager also saves the initial weights first."""
    from reportgen.workloads.training.recipe import Recipe

    settings = ctx.profile["training"]
    probe = task.params.get("probe_epochs")
    data = load_data(ctx, probe=bool(probe))
    recipe = Recipe(**{**recipe_settings(settings), **({"epochs": probe} if probe else {})})
    save = task.framework == "torch" and task.variant == "eager"
    history = train(task.framework, task.variant, ctx, data, recipe, save_initial=save)
    extra = _data_settings(data, settings)
    if probe:
        extra[Setting.PROBE] = (f"a speed probe: the recipe shortened to {probe} of its {settings['epochs']} epochs "
                                f"on {len(data.train_labels)} training images (throughput and first-epoch cost; its "
                                "accuracy is not comparable with a full run)")
        extra[Setting.RECIPE] = {**extra[Setting.RECIPE], "epochs": probe}
    return history_record(task.scenario, task.framework, task.variant, ctx, history, recipe.batch_size,
                          precision=task.params.get("precision", "fp32"), extra=extra,
                          peak_gpu=peak_gpu_mb(task.framework, ctx.device))


def _data_settings(data, settings: dict[str, Any]) -> dict[str, Any]:
    return {Setting.DATASET: data.name, Setting.DATA_SOURCE: data.source,
            Setting.TRAIN_IMAGES: len(data.train_labels), Setting.VAL_IMAGES: len(data.val_labels),
            Setting.CLASSES: len(data.classes), Setting.IMAGE_SIZE: settings["image_size"],
            Setting.RECIPE: recipe_settings(settings), Setting.SGD_RULE: SGD_RULE,
            Setting.TARGET_TOP1: settings["target_top1"],
            Setting.AUGMENTATION: "pad + random crop + horizontal flip, from one seeded plan shared by both "
                                  "frameworks"}
