"""An OVMS config with one pipeline of one custom node, for the faulty test libraries."""

from __future__ import annotations

import json
from pathlib import Path


def write_one_node_config(folder: Path, library: Path, pipeline: str = "pipe") -> Path:
    """``folder/config.json``: pipeline ``pipeline`` = request x -> ``library`` -> y."""
    document = {
        "model_config_list": [],
        "custom_node_library_config_list": [{"name": "lib", "base_path": str(library)}],
        "pipeline_config_list": [
            {
                "name": pipeline,
                "inputs": ["x"],
                "nodes": [
                    {
                        "name": "node",
                        "library_name": "lib",
                        "type": "custom",
                        "inputs": [{"x": {"node_name": "request", "data_item": "x"}}],
                        "outputs": [{"data_item": "y", "alias": "y"}],
                    }
                ],
                "outputs": [{"y": {"node_name": "node", "data_item": "y"}}],
            }
        ],
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    path.write_text(json.dumps(document))
    return path
