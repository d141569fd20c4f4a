"""ONNX skill policies: export (numpy MLP -> ONNX with the manifest embedded) and verified loading.

`load_policy(manifest)` refuses, with a message naming the file and the problem:
  * a model file that is missing or whose sha256 differs from the manifest's,
  * a file onnxruntime cannot parse (corrupt / truncated),
  * input/output names, element types or shapes that disagree with the declared signals,
  * embedded metadata (`manifest.METADATA_KEY`) that is missing or disagrees with the YAML's
    interface fields (`manifest.INTERFACE_KEYS`).

Sessions use 1 intra-op and 1 inter-op thread with spinning off, so inference never competes
with the 1 kHz control loop for cores.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from robot_control.edge.manifest import INTERFACE_KEYS, METADATA_KEY, SkillManifest
from robot_control.edge.observation import ObservationLayout, signal_problem

_add_reduce = np.add.reduce


class SkillLoadError(RuntimeError):
    """A skill model cannot be served; the message says which file and why."""


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def session_options() -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    opts.log_severity_level = 3
    return opts


def _fixed_dim(shape: Sequence[object], index: int) -> int | None:
    if len(shape) <= index:
        return None
    d = shape[index]
    return d if isinstance(d, int) else None


class SkillPolicy:
    """One verified ONNX model; `act(obs)` maps one observation to one clipped action."""

    def __init__(self, manifest: SkillManifest, session: ort.InferenceSession) -> None:
        self.manifest = manifest
        self.session = session
        self.obs_dim = manifest.obs_dim
        self.act_dim = manifest.act_dim
        self._input = manifest.model_input
        self._outputs = [manifest.model_output]
        self._low = np.asarray(manifest.action_low, dtype=np.float32)
        self._high = np.asarray(manifest.action_high, dtype=np.float32)
        self._buf = np.zeros((1, self.obs_dim), dtype=np.float32)
        self._feeds = {self._input: self._buf}
        self._mean = None if manifest.normalisation_in_model else np.asarray(manifest.obs_mean, np.float32)
        self._std = None if manifest.normalisation_in_model else np.asarray(manifest.obs_std, np.float32)
        self.layout = ObservationLayout(manifest.observation)  # base observation -> this model's input

    def act(self, obs: np.ndarray) -> np.ndarray:
        x = np.asarray(obs, dtype=np.float32).reshape(-1)
        if x.shape[0] != self.obs_dim:
            raise ValueError(f"{self.manifest.name}: observation has {x.shape[0]} values, "
                             f"the model takes {self.obs_dim}")
        # One reduction instead of isfinite().all() (3x cheaper at this size): the sum is
        # finite iff every element is (barring float32 overflow of absurd values, also refused).
        if not math.isfinite(float(_add_reduce(x))):
            raise ValueError(f"{self.manifest.name}: observation contains NaN/inf (or absurd magnitudes)")
        if self._mean is not None and self._std is not None:
            x = (x - self._mean) / self._std
        self._buf[0] = x
        (y,) = self.session.run(self._outputs, self._feeds)
        a = np.asarray(y, dtype=np.float32).reshape(-1)
        if not math.isfinite(float(_add_reduce(a))):
            raise ValueError(f"{self.manifest.name}: model produced NaN/inf")
        return np.minimum(np.maximum(a, self._low, out=a), self._high, out=a)  # manifest bounds


def load_policy(manifest: SkillManifest) -> SkillPolicy:
    path = manifest.model_path()
    where = f"skill {manifest.name!r} ({path})"
    if not path.is_file():
        raise SkillLoadError(f"{where}: model file not found")
    if not manifest.model_sha256:
        raise SkillLoadError(f"{where}: the manifest has no model sha256; refusing an unpinned model")
    actual = sha256_file(path)
    if actual != manifest.model_sha256:
        raise SkillLoadError(f"{where}: checksum mismatch: manifest sha256 {manifest.model_sha256[:16]}…, "
                             f"file sha256 {actual[:16]}…")
    try:
        session = ort.InferenceSession(str(path), sess_options=session_options(),
                                       providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several private exception types
        raise SkillLoadError(f"{where}: not a loadable ONNX model: {str(exc).splitlines()[0][:200]}") from exc
    _check_io(manifest, session, where)
    _check_metadata(manifest, session, where)
    problem = signal_problem(manifest.observation)  # a consistent pair the runtime cannot feed
    if problem is not None:
        raise SkillLoadError(f"{where}: {problem}")
    return SkillPolicy(manifest, session)


def _check_io(manifest: SkillManifest, session: ort.InferenceSession, where: str) -> None:
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or inputs[0].name != manifest.model_input:
        raise SkillLoadError(f"{where}: expected one input {manifest.model_input!r}, "
                             f"model has {[i.name for i in inputs]}")
    if manifest.model_output not in [o.name for o in outputs]:
        raise SkillLoadError(f"{where}: no output {manifest.model_output!r}, model has {[o.name for o in outputs]}")
    out = next(o for o in outputs if o.name == manifest.model_output)
    for arg, dim, what in ((inputs[0], manifest.obs_dim, "observation"), (out, manifest.act_dim, "action")):
        if arg.type != "tensor(float)":
            raise SkillLoadError(f"{where}: {what} tensor {arg.name!r} is {arg.type}, expected tensor(float)")
        if len(arg.shape) != 2 or _fixed_dim(arg.shape, 1) != dim:
            raise SkillLoadError(f"{where}: {what} shape {list(arg.shape)} disagrees with the manifest "
                                 f"({dim} values declared: [batch, {dim}])")


def _check_metadata(manifest: SkillManifest, session: ort.InferenceSession, where: str) -> None:
    meta = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in meta:
        raise SkillLoadError(f"{where}: the model carries no {METADATA_KEY!r} metadata")
    try:
        embedded = json.loads(meta[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise SkillLoadError(f"{where}: embedded manifest is not valid JSON: {exc}") from exc
    ours = json.loads(json.dumps(manifest.interface()))  # same normalisation as the embedded copy
    diff = [k for k in INTERFACE_KEYS if embedded.get(k) != ours.get(k)]
    if diff:
        raise SkillLoadError(f"{where}: embedded manifest disagrees with the YAML on: {', '.join(diff)}")


# -- export -----------------------------------------------------------------------------------
def export_mlp(path: str | Path, layers: Sequence[tuple[np.ndarray, np.ndarray]], manifest: SkillManifest,
               activation: str = "Relu") -> str:
    """Write an MLP (W: (in, out), b: (out,)) as ONNX with input normalisation and action
    clipping in the graph and `manifest` embedded; returns the file's sha256."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    dim, act_dim = manifest.obs_dim, manifest.act_dim
    if layers[0][0].shape[0] != dim or layers[-1][0].shape[1] != act_dim:
        raise ValueError(f"layers map {layers[0][0].shape[0]} -> {layers[-1][0].shape[1]}, "
                         f"manifest declares {dim} -> {act_dim}")
    inits = []
    nodes = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    x = manifest.model_input
    if manifest.normalisation_in_model:
        nodes.append(helper.make_node("Sub", [x, const("obs_mean", np.asarray(manifest.obs_mean))], ["x_centred"]))
        nodes.append(helper.make_node("Mul", ["x_centred", const("obs_inv_std", 1.0 / np.asarray(manifest.obs_std))],
                                      ["x_norm"]))
        x = "x_norm"
    for i, (w, b) in enumerate(layers):
        y = f"h{i}"
        nodes.append(helper.make_node("Gemm", [x, const(f"W{i}", w), const(f"b{i}", b)], [y]))
        x = y
        if i < len(layers) - 1:
            nodes.append(helper.make_node(activation, [x], [f"a{i}"]))
            x = f"a{i}"
    low = np.asarray(manifest.action_low, dtype=np.float32)
    high = np.asarray(manifest.action_high, dtype=np.float32)
    nodes.append(helper.make_node("Max", [x, const("act_low", np.nan_to_num(low, neginf=-3e38))], ["y_low"]))
    nodes.append(helper.make_node("Min", ["y_low", const("act_high", np.nan_to_num(high, posinf=3e38))],
                                  [manifest.model_output]))
    graph = helper.make_graph(
        nodes, f"skill_{manifest.name}",
        [helper.make_tensor_value_info(manifest.model_input, TensorProto.FLOAT, ["batch", dim])],
        [helper.make_tensor_value_info(manifest.model_output, TensorProto.FLOAT, ["batch", act_dim])],
        initializer=inits)
    model = helper.make_model(graph, producer_name="robot_control", opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    helper.set_model_props(model, {METADATA_KEY: manifest.metadata_json()})
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return sha256_file(path)


def mlp_forward(layers: Sequence[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """Numpy reference of the exported graph's hidden part (ReLU MLP), for training and tests."""
    h = np.asarray(x, dtype=np.float32)
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h
