"""The TensorFlow Serving API messages, declared here and built at run time as descriptors.

The tables below are this project's own declaration of the TFS API's messages — the same
package names, message names and field numbers as tensorflow/serving's ``apis/*.proto`` and
tensorflow's ``core/framework/*.proto`` (only the fields the API uses) — turned into
``FileDescriptorProto`` objects in a **private** ``DescriptorPool``. A private pool matters:
``ovmsclient`` and ``tensorflow-serving-api`` register their own ``tensorflow.*`` descriptors in
protobuf's default pool, and both may live in the same process as this front.
"""

from __future__ import annotations

from typing import Any, Sequence

from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

FDP = descriptor_pb2.FieldDescriptorProto

# (field name, number, type, label) — type: a scalar name, ".pkg.Message" or "map<key,.Value>".
Field = tuple[str, int, str, str]
_SCALARS = {
    "int32": FDP.TYPE_INT32,
    "int64": FDP.TYPE_INT64,
    "uint32": FDP.TYPE_UINT32,
    "uint64": FDP.TYPE_UINT64,
    "float": FDP.TYPE_FLOAT,
    "double": FDP.TYPE_DOUBLE,
    "bool": FDP.TYPE_BOOL,
    "string": FDP.TYPE_STRING,
    "bytes": FDP.TYPE_BYTES,
}
_ENUMS = {
    ".tensorflow.DataType",
    ".tensorflow.error.Code",
    ".tensorflow.serving.ModelVersionStatus.State",
}

DATA_TYPES = [
    "DT_INVALID", "DT_FLOAT", "DT_DOUBLE", "DT_INT32", "DT_UINT8", "DT_INT16", "DT_INT8",
    "DT_STRING", "DT_COMPLEX64", "DT_INT64", "DT_BOOL", "DT_QINT8", "DT_QUINT8", "DT_QINT32",
    "DT_BFLOAT16", "DT_QINT16", "DT_QUINT16", "DT_UINT16", "DT_COMPLEX128", "DT_HALF",
    "DT_RESOURCE", "DT_VARIANT", "DT_UINT32", "DT_UINT64",
]  # fmt: skip
ERROR_CODES = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED",
]  # fmt: skip
MODEL_STATES = {
    "UNKNOWN": 0,
    "START": 10,
    "LOADING": 20,
    "AVAILABLE": 30,
    "UNLOADING": 40,
    "END": 50,
}

_OPT, _REP = "optional", "repeated"
_TENSORFLOW: dict[str, list[Field]] = {
    "TensorShapeProto": [
        ("dim", 2, ".tensorflow.TensorShapeProto.Dim", _REP),
        ("unknown_rank", 3, "bool", _OPT),
    ],
    "TensorShapeProto.Dim": [("size", 1, "int64", _OPT), ("name", 2, "string", _OPT)],
    "TensorProto": [
        ("dtype", 1, ".tensorflow.DataType", _OPT),
        ("tensor_shape", 2, ".tensorflow.TensorShapeProto", _OPT),
        ("version_number", 3, "int32", _OPT),
        ("tensor_content", 4, "bytes", _OPT),
        ("float_val", 5, "float", _REP),
        ("double_val", 6, "double", _REP),
        ("int_val", 7, "int32", _REP),
        ("string_val", 8, "bytes", _REP),
        ("scomplex_val", 9, "float", _REP),
        ("int64_val", 10, "int64", _REP),
        ("bool_val", 11, "bool", _REP),
        ("dcomplex_val", 12, "double", _REP),
        ("half_val", 13, "int32", _REP),
        ("uint32_val", 16, "uint32", _REP),
        ("uint64_val", 17, "uint64", _REP),
    ],
    "TensorInfo": [
        ("name", 1, "string", _OPT),
        ("dtype", 2, ".tensorflow.DataType", _OPT),
        ("tensor_shape", 3, ".tensorflow.TensorShapeProto", _OPT),
    ],
    "SignatureDef": [
        ("inputs", 1, "map<string,.tensorflow.TensorInfo>", _REP),
        ("outputs", 2, "map<string,.tensorflow.TensorInfo>", _REP),
        ("method_name", 3, "string", _OPT),
    ],
}
_SERVING: dict[str, list[Field]] = {
    "ModelSpec": [
        ("name", 1, "string", _OPT),
        ("version", 2, ".google.protobuf.Int64Value", _OPT),
        ("version_label", 4, "string", _OPT),
        ("signature_name", 3, "string", _OPT),
    ],
    "PredictRequest": [
        ("model_spec", 1, ".tensorflow.serving.ModelSpec", _OPT),
        ("inputs", 2, "map<string,.tensorflow.TensorProto>", _REP),
        ("output_filter", 3, "string", _REP),
    ],
    "PredictResponse": [
        ("model_spec", 2, ".tensorflow.serving.ModelSpec", _OPT),
        ("outputs", 1, "map<string,.tensorflow.TensorProto>", _REP),
    ],
    "SignatureDefMap": [("signature_def", 1, "map<string,.tensorflow.SignatureDef>", _REP)],
    "GetModelMetadataRequest": [
        ("model_spec", 1, ".tensorflow.serving.ModelSpec", _OPT),
        ("metadata_field", 2, "string", _REP),
    ],
    "GetModelMetadataResponse": [
        ("model_spec", 1, ".tensorflow.serving.ModelSpec", _OPT),
        ("metadata", 2, "map<string,.google.protobuf.Any>", _REP),
    ],
    "StatusProto": [
        ("error_code", 1, ".tensorflow.error.Code", _OPT),
        ("error_message", 2, "string", _OPT),
    ],
    "ModelVersionStatus": [
        ("version", 1, "int64", _OPT),
        ("state", 2, ".tensorflow.serving.ModelVersionStatus.State", _OPT),
        ("status", 3, ".tensorflow.serving.StatusProto", _OPT),
    ],
    "GetModelStatusRequest": [("model_spec", 1, ".tensorflow.serving.ModelSpec", _OPT)],
    "GetModelStatusResponse": [
        ("model_version_status", 1, ".tensorflow.serving.ModelVersionStatus", _REP)
    ],
}


def _add_fields(
    message: descriptor_pb2.DescriptorProto, scope: str, fields: Sequence[Field]
) -> None:
    """Declare ``fields`` on ``message``, whose full name is ``scope`` (e.g. ``.tensorflow.X``)."""
    for name, number, kind, label in fields:
        field = message.field.add(name=name, number=number)
        field.label = FDP.LABEL_REPEATED if label == _REP else FDP.LABEL_OPTIONAL
        if kind.startswith("map<"):
            key, value = kind[4:-1].split(",")
            entry = message.nested_type.add(name=name.title().replace("_", "") + "Entry")
            entry.options.map_entry = True
            entry_fields = [("key", 1, key, _OPT), ("value", 2, value, _OPT)]
            _add_fields(entry, f"{scope}.{entry.name}", entry_fields)
            field.type, field.type_name = FDP.TYPE_MESSAGE, f"{scope}.{entry.name}"
        elif kind in _SCALARS:
            field.type = _SCALARS[kind]  # type: ignore[assignment]
        else:
            field.type = FDP.TYPE_ENUM if kind in _ENUMS else FDP.TYPE_MESSAGE
            field.type_name = kind
    if message.name == "ModelSpec":  # version and version_label are TFS's oneof version_choice
        message.oneof_decl.add(name="version_choice")
        for field in message.field:
            if field.name in ("version", "version_label"):
                field.oneof_index = 0


def _file(
    name: str, package: str, messages: dict[str, list[Field]]
) -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(name=name, package=package, syntax="proto3")
    built: dict[str, descriptor_pb2.DescriptorProto] = {}
    for full_name, fields in messages.items():
        parent, _, short = full_name.rpartition(".")
        container = built[parent].nested_type if parent else proto.message_type
        built[full_name] = container.add(name=short)
        _add_fields(built[full_name], f".{package}.{full_name}", fields)
    return proto


def _enum(target: Any, name: str, values: dict[str, int]) -> None:
    enum = target.add(name=name)
    for value_name, number in values.items():
        enum.value.add(name=value_name, number=number)


def _build_pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    for well_known in (wrappers_pb2, any_pb2):
        pool.AddSerializedFile(well_known.DESCRIPTOR.serialized_pb)
    errors = descriptor_pb2.FileDescriptorProto(
        name="ovtriton/tfs/error_codes.proto", package="tensorflow.error", syntax="proto3"
    )
    _enum(errors.enum_type, "Code", {n: i for i, n in enumerate(ERROR_CODES)})
    core = _file("ovtriton/tfs/tensorflow.proto", "tensorflow", _TENSORFLOW)
    _enum(core.enum_type, "DataType", {n: i for i, n in enumerate(DATA_TYPES)})
    serving = _file("ovtriton/tfs/serving.proto", "tensorflow.serving", _SERVING)
    status = next(m for m in serving.message_type if m.name == "ModelVersionStatus")
    _enum(status.enum_type, "State", MODEL_STATES)
    serving.dependency.extend(
        [core.name, errors.name, "google/protobuf/wrappers.proto", "google/protobuf/any.proto"]
    )
    core.dependency.append(errors.name)
    for proto in (errors, core, serving):
        pool.Add(proto)
    return pool


POOL = _build_pool()


def message(full_name: str) -> Any:
    """The generated class of one message of the private pool, e.g. ``tensorflow.TensorProto``."""
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(full_name))


TensorProto = message("tensorflow.TensorProto")
TensorShapeProto = message("tensorflow.TensorShapeProto")
TensorInfo = message("tensorflow.TensorInfo")
SignatureDef = message("tensorflow.SignatureDef")
ModelSpec = message("tensorflow.serving.ModelSpec")
PredictRequest = message("tensorflow.serving.PredictRequest")
PredictResponse = message("tensorflow.serving.PredictResponse")
SignatureDefMap = message("tensorflow.serving.SignatureDefMap")
GetModelMetadataRequest = message("tensorflow.serving.GetModelMetadataRequest")
GetModelMetadataResponse = message("tensorflow.serving.GetModelMetadataResponse")
GetModelStatusRequest = message("tensorflow.serving.GetModelStatusRequest")
GetModelStatusResponse = message("tensorflow.serving.GetModelStatusResponse")
ModelVersionStatus = message("tensorflow.serving.ModelVersionStatus")
