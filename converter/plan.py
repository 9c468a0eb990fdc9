"""The library entry points: ``plan`` a conversion (validate, read models) and ``convert`` it.

``ovtriton convert``, ``serve --config`` (its watcher), ``demo`` and ``bench`` all call these
with one ``ConversionOptions``. ``ConversionPlan.changed``
compares two plans by per-model digests so a watcher can reload only what changed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import openvino as ov

from . import input_limit, pbtxt
from .ensembles import ensemble_config
from .errors import Problem, Problems
from .identity import IDENTITY_PREFIX, identity_model
from .models import ConvertedModel, convert_model
from .names import check_names
from .options import ConversionOptions
from .parse import parse_config
from .pipeline_check import Libraries, check_pipeline
from .pipeline_model import pipeline_model
from .repository import PlannedModel, check_target, write_repository
from .schema import load_document
from .sources import find_versions, resolve_base_path
from .thread_budgets import apply_thread_budgets

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConversionPlan:
    """Everything a conversion would write, computed without writing anything."""

    config_path: Path
    models: tuple[PlannedModel, ...]
    warnings: tuple[Problem, ...] = ()
    base_paths: tuple[Path, ...] = field(default=(), repr=False)  # model folders/files read

    def read_paths(self) -> tuple[Path, ...]:
        """Everything the conversion reads and so must never write into: config and models."""
        return (self.config_path, *self.base_paths)

    def digests(self) -> dict[str, str]:
        """Model or ensemble name -> digest of its config.pbtxt and version files."""
        return {model.name: model.digest for model in self.models}

    def changed(self, previous: ConversionPlan | None) -> set[str]:
        """Names added, removed or different since ``previous`` (all names if there is none)."""
        ours = self.digests()
        if previous is None:
            return set(ours)
        theirs = previous.digests()
        return {name for name in ours.keys() | theirs.keys() if ours.get(name) != theirs.get(name)}

    def describe(self) -> str:
        lines = []
        for model in self.models:
            if model.name.startswith(IDENTITY_PREFIX):
                lines.append(f"  model    {model.name}: generated, copies a tensor to an output")
            elif model.kind == "ensemble":
                lines.append(f"  ensemble {model.name}")
            elif model.kind == "pipeline":
                lines.append(
                    f"  pipeline model {model.name}: one openvino_py model runs the pipeline"
                )
            else:
                versions = ", ".join(map(str, model.versions))
                lines.append(
                    f"  model    {model.name}: version(s) {versions}, {len(model.files)} file(s)"
                )
        return "\n".join(lines)

    def counts(self) -> tuple[int, int, int]:
        """(models, versions, ensembles)."""
        models = [m for m in self.models if m.kind == "model"]
        return len(models), sum(len(m.versions) for m in models), len(self.models) - len(models)


@dataclass(frozen=True)
class ConversionSummary:
    plan: ConversionPlan
    out_dir: Path
    copied: bool

    def __str__(self) -> str:
        models, versions, ensembles = self.plan.counts()
        how = "copied" if self.copied else "linked"
        return (
            f"wrote {models} model(s) ({versions} version(s), files {how}) and {ensembles} "
            f"ensemble(s) to {self.out_dir}\n{self.plan.describe()}"
        )


def plan(
    config_path: Path,
    *,
    options: ConversionOptions = ConversionOptions(),
    data: bytes | None = None,
) -> ConversionPlan:
    """Validate ``config_path`` and read every model; ``ConfigError`` lists all problems.

    ``options`` (``options.py``): symlinks out of a base path, MAX_INPUT_BYTES, which
    pipelines become ensembles and which pipeline models (``pipeline_model.py``; pipelines with
    custom nodes or demultiplexing always do), the cores the thread budgets of ensembles' models
    are computed for and how (``schedule``: auto, measured or even; ``thread_budgets.py``).
    ``data``: the config's bytes as already read (the file is then not read again).
    """
    config_path = Path(config_path)
    follow_symlinks, max_input_bytes = options.follow_symlinks, options.max_input_bytes
    problems = Problems()
    config = parse_config(load_document(config_path, data), problems)
    check_names(config, problems)
    config_dir = config_path.resolve().parent
    core = ov.Core()
    converted: dict[str, ConvertedModel] = {}
    base_paths = []
    for entry in config.models:
        if not problems.clean(entry.path) or entry.name in converted:
            # fields with problems (or a name reported by check_names): the model is not
            # read, but its base path and version folders are checked all the same
            find_versions(entry, config_dir, problems, follow_symlinks)
            continue
        base = resolve_base_path(entry, config_dir, Problems())
        if base is not None:
            base_paths.append(base)
        if entry.uses_auto:
            problems.warn(
                entry.path,
                "'auto' is deprecated in OVMS; converted to dynamic dimensions (-1)",
                "write -1 for dynamic dimensions",
            )
        model = convert_model(core, entry, config_dir, problems, follow_symlinks, max_input_bytes)
        if model is not None:
            converted[entry.name] = model
    ensembles = [p for p in config.pipelines if not options.as_pipeline_model(p.name)]
    cores = options.thread_cores()
    if cores > 0:
        apply_thread_budgets(converted, ensembles, cores, options.schedule)
    planned = [
        PlannedModel(name, "model", pbtxt.to_text(m.config), m.versions, m.files)
        for name, m in converted.items()
    ]
    names = set(converted)
    identities: dict[str, PlannedModel] = {}
    libraries = Libraries(config.libraries, config_dir, problems)
    base_paths.extend(path for path in libraries.paths.values() if path is not None)
    for pipeline in config.pipelines:
        checked = check_pipeline(pipeline, converted, config.declared, problems, libraries)
        if checked is not None and pipeline.name not in names:  # a clash is reported already
            names.add(pipeline.name)
            if checked.needs_pipeline_model or options.as_pipeline_model(pipeline.name):
                digests = {m.name: m.digest for m in planned}
                planned.append(
                    input_limit.limit_pipeline(
                        pipeline_model(checked, digests, options.schedule), max_input_bytes
                    )
                )
                continue
            ensemble, copies = ensemble_config(checked)
            planned.append(
                PlannedModel(pipeline.name, "ensemble", pbtxt.to_text(ensemble), (1,), ())
            )
            for copy in copies:
                identities.setdefault(copy.model_name, identity_model(copy.datatype, copy.rank))
    planned.extend(identities[name] for name in sorted(identities))
    for name in sorted(options.pipeline_models - {p.name for p in config.pipelines}):
        problems.add(
            "$.pipeline_config_list",
            f"--pipeline-model {name}: no pipeline has that name",
            f"the pipelines are {sorted(p.name for p in config.pipelines)}",
        )
    problems.raise_if_any(str(config_path))
    return ConversionPlan(config_path, tuple(planned), tuple(problems.warnings), tuple(base_paths))


def convert(
    config_path: Path,
    out_dir: Path,
    *,
    options: ConversionOptions = ConversionOptions(),
    force: bool = False,
    planned: ConversionPlan | None = None,
) -> ConversionSummary:
    """Write the repository for ``config_path`` into ``out_dir`` atomically (or raise, writing
    nothing). ``planned``: the plan made with the same ``options`` (else planned here)."""
    result = planned or plan(config_path, options=options)
    out_dir = Path(out_dir)
    check_target(out_dir, force, result.read_paths())
    write_repository(result.models, out_dir, force=force, copy=options.copy)
    LOGGER.debug("wrote %s", out_dir)
    return ConversionSummary(result, out_dir, options.copy)
