"""Notebook 07's checks: layer norm over each example's units, spatial batch norm per channel, group norm over a group of channels."""

from __future__ import annotations

import numpy as np

from ..normalization import groupnorm_forward, layernorm_backward, layernorm_forward, spatial_batchnorm_forward
from .core import Case, Mistake, drawn, learner_facing, need_function, quiet, returns_tuple, run, size


_LAYER_NORM_SHAPES = ("Check the shapes: layer norm's statistics are one per example, shape (1, m), e.g. "
                      "`Z.mean(axis=0, keepdims=True)`, so that they line up with the columns of an (n_l, m) array; "
                      "gamma and beta are (n_l, 1), one per unit.")  # fmt: skip
_GROUP_NORM_SHAPES = ("Check the shapes: group norm's statistics live on X viewed as (m, n_H, n_W, groups, "
                      "n_C // groups): with keepdims=True over axes (1, 2, 4) they have shape (m, 1, 1, groups, 1). "
                      "Normalize the view, reshape it back to X's shape, then apply gamma and beta, "
                      "(1, 1, 1, n_C).")  # fmt: skip


def _layernorm_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(707) if rng is None else rng

    def params(n, dtype=np.float64):
        return (rng.uniform(0.5, 2.0, (n, 1)).astype(dtype) * rng.choice([-1.0, 1.0], (n, 1)).astype(dtype),
                rng.uniform(-2.0, 2.0, (n, 1)).astype(dtype))  # fmt: skip

    # The visible shapes, or (hidden) shapes drawn for each kind: n unlike m where the visible case has them so (an
    # axis mix-up then changes the shape), m = 1 in the second, n >= 2 everywhere (statistics over the units).
    if visible:
        shapes, scales = [(5, 3), (6, 1), (4, 3), (3, 4), (8, 5)], np.array([[0.1, 1.0, 50.0]])
    else:
        shapes = []
        for n in (size(rng, 2, 9), size(rng, 2, 9), size(rng, 2, 8), size(rng, 2, 7), size(rng, 2, 10)):
            shapes.append((n, size(rng, 2, 10, avoid=[n])))
        shapes[1] = (shapes[1][0], 1)
        scales = 10.0 ** rng.uniform(-1.0, 1.7, (1, shapes[2][1]))  # every example on its own scale
    (n, m), shape_1, shape_scales, shape_eps, shape_32 = shapes
    return [
        Case(f"{n} units x {m} examples, non-trivial gamma and beta", (rng.normal(2.0, 3.0, (n, m)), *params(n))),
        Case("a single example (m = 1)", (rng.normal(0.0, 2.0, shape_1), *params(shape_1[0]))),
        Case("examples on very different scales", (rng.normal(0.0, 1.0, shape_scales) * scales,
                                                   *params(shape_scales[0]))),  # fmt: skip
        Case("eps = 0.1", (rng.normal(1.0, 0.5, shape_eps), *params(shape_eps[0])), {"eps": 0.1}),
        Case("float32 input", (rng.normal(1.0, 2.0, shape_32).astype(np.float32), *params(shape_32[0], np.float32))),
    ]


def _layernorm_ref(Z, gamma, beta, eps=1e-5):
    f = lambda a: np.asarray(a, dtype=float)  # noqa: E731
    return (layernorm_forward(f(Z), f(gamma), f(beta), eps)[0],)


def _ln(Z, g, b, eps, axis=0, ddof=0, outside=False, affine=True):
    """Layer norm with pieces swapped out: the engine of the mistakes below."""
    Z = np.asarray(Z, dtype=float)
    mu, var = Z.mean(axis=axis, keepdims=True), Z.var(axis=axis, keepdims=True, ddof=ddof)
    Z_norm = (Z - mu) / (np.sqrt(var) + eps if outside else np.sqrt(var + eps))
    return (g * Z_norm + b if affine else Z_norm,)


LAYERNORM_MISTAKES = [
    Mistake("your statistics are taken over the examples of each unit (axis=1): that is batch norm. Layer norm takes "
            "them over the units of each example, down each column: axis=0, keepdims=True.",
            lambda Z, g, b, eps=1e-5: _ln(Z, g, b, eps, axis=1)),
    Mistake("your variance divides by n_l - 1; layer norm's divides by n_l (np.var's default ddof=0).",
            lambda Z, g, b, eps=1e-5: _ln(Z, g, b, eps, ddof=1)),
    Mistake("your eps is outside the square root: divide by sqrt(sigma^2 + eps).",
            lambda Z, g, b, eps=1e-5: _ln(Z, g, b, eps, outside=True)),
    Mistake("gamma and beta are not applied: layer norm, like batch norm, returns gamma * z_norm + beta "
            "(one gamma and one beta per unit, shape (n_l, 1)).",
            lambda Z, g, b, eps=1e-5: _ln(Z, g, b, eps, affine=False)),
]


@learner_facing(points=2)
def check_layernorm_forward(fn, hidden=False):
    """Check ``fn(Z, gamma, beta, eps=1e-5) -> (Z_tilde, cache)`` against :func:`bn_helpers.normalization.layernorm_forward`.

    ``Z`` ``(n_l, m)``, ``gamma`` and ``beta`` ``(n_l, 1)``; only ``Z_tilde`` is compared.
    """
    need_function(fn, "check_layernorm_forward", "check_layernorm_forward(layernorm_forward)")
    run("check_layernorm_forward", fn, _layernorm_ref, drawn(_layernorm_cases, hidden), LAYERNORM_MISTAKES, ["Z_tilde"],
        shapes=_LAYER_NORM_SHAPES,
        select=lambda out: returns_tuple(2, "layernorm_forward", ["Z_tilde", "cache"])(out)[:1])  # fmt: skip


# --- layer norm's backward pass ----------------------------------------------------------


def _ln_backward_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(727) if rng is None else rng

    def case(name, n, m, eps=None):
        gamma = rng.uniform(0.5, 2.0, (n, 1)) * rng.choice([-1.0, 1.0], (n, 1))
        args = (rng.normal(1.0, 2.0, (n, m)), gamma, rng.uniform(-2.0, 2.0, (n, 1)), rng.normal(0.0, 1.0, (n, m)))
        return Case(name.format(n=n, m=m), args, {} if eps is None else {"eps": eps})

    if visible:
        shapes = [(5, 3), (4, 1), (2, 6), (3, 4)]
    else:  # n unlike m in the first case (an axis mix-up then changes the shape), m = 1, n = 2
        n = size(rng, 3, 8)
        shapes = [(n, size(rng, 2, 8, avoid=[n])), (size(rng, 3, 8), 1), (2, size(rng, 3, 8)), (size(rng, 2, 6), size(rng, 2, 6))]
    (n0, m0), (n1, _), (_, m2), (n3, m3) = shapes
    return [case("{n} units x {m} examples, non-trivial gamma and beta", n0, m0),
            case("a single example (m = 1), {n} units", n1, 1),
            case("2 units (the smallest layer), {m} examples", 2, m2),
            case("eps = 0.5 (so that eps shows in the gradient), {n} x {m}", n3, m3, eps=0.5)]  # fmt: skip


def _ln_backward_ref(Z, gamma, beta, dZ_tilde, eps=1e-5):
    _, cache = layernorm_forward(Z, gamma, beta, eps)
    return layernorm_backward(dZ_tilde, cache)


def _ln_back(Z, gamma, beta, dZ_tilde, eps=1e-5, sums=0, through_var=True, gamma_in_dz=True, param_axis=1,
             dgamma_plain=False, gamma_outside=False):  # fmt: skip
    """Layer norm's backward pass with pieces swapped out: the engine of the mistakes below.

    The statistics are layer norm's (per example); ``sums``: the axis dZ's sums run over (1 is notebook 02's
    batch-norm formula applied to layer norm's cache).
    """
    mu = Z.mean(axis=0, keepdims=True)
    inv_std = 1.0 / np.sqrt(Z.var(axis=0, keepdims=True) + eps)
    Z_norm = (Z - mu) * inv_std
    g = gamma * dZ_tilde if gamma_in_dz and not gamma_outside else dZ_tilde
    dZ = inv_std * (g - g.mean(axis=sums, keepdims=True))
    if through_var:
        dZ -= inv_std * Z_norm * (g * Z_norm).mean(axis=sums, keepdims=True)
    if gamma_outside:  # notebook 02's form, gamma / sigma in front of the sums, kept where gamma varies along them
        dZ *= gamma
    dgamma = dZ_tilde.sum(axis=param_axis, keepdims=True) if dgamma_plain else (dZ_tilde * Z_norm).sum(axis=param_axis, keepdims=True)
    return dZ, dgamma, dZ_tilde.sum(axis=param_axis, keepdims=True)


LN_BACKWARD_MISTAKES = [
    Mistake("your sums run over the examples of each unit (axis=1), as in notebook 02's batch norm. Layer norm's mean "
            "and variance are per example, so dZ's sums run over the units of each example: axis=0, keepdims=True.",
            lambda Z, g, b, d, eps=1e-5: _ln_back(Z, g, b, d, eps, sums=1)),
    Mistake("your dZ goes through the mean but not through the variance: the variance depends on every z of the "
            "example too, which adds the term - z_norm * mean(dZ_norm * z_norm) over the units, times 1 / sqrt(sigma^2 + eps).",
            lambda Z, g, b, d, eps=1e-5: _ln_back(Z, g, b, d, eps, through_var=False)),
    Mistake("gamma is outside your sums. In notebook 02 it could stand in front of them, being the same along a row; "
            "here the sums run over the units of an example, each with its own gamma, so sum gamma * dZ_tilde "
            "(the gradient reaching z_norm).", lambda Z, g, b, d, eps=1e-5: _ln_back(Z, g, b, d, eps, gamma_outside=True)),
    Mistake("gamma is missing from dZ: the gradient reaching z_norm is gamma * dZ_tilde.",
            lambda Z, g, b, d, eps=1e-5: _ln_back(Z, g, b, d, eps, gamma_in_dz=False)),
    Mistake("dgamma and dbeta are one per unit, as gamma and beta are: sum over the examples, axis=1, keepdims=True, "
            "shape (n_l, 1).", lambda Z, g, b, d, eps=1e-5: _ln_back(Z, g, b, d, eps, param_axis=0)),
    Mistake("your dgamma is dbeta's sum: gamma multiplies z_norm, so dgamma sums dZ_tilde * z_norm over the examples.",
            lambda Z, g, b, d, eps=1e-5: _ln_back(Z, g, b, d, eps, dgamma_plain=True)),
]


@learner_facing(points=3)
def check_layernorm_backward(forward_fn, backward_fn, hidden=False):
    """Check ``backward_fn(dZ_tilde, cache) -> (dZ, dgamma, dbeta)``, with ``cache`` from your ``forward_fn``.

    Shapes: ``dZ_tilde`` and ``dZ`` ``(n_l, m)``, ``dgamma`` and ``dbeta``
    ``(n_l, 1)``. The cache is the learner's own, so the forward pass must
    pass :func:`check_layernorm_forward` first; until it does, this check
    says so and gives no points.
    """
    for f in (forward_fn, backward_fn):
        need_function(f, "check_layernorm_backward", "check_layernorm_backward(layernorm_forward, layernorm_backward)")
    with quiet():
        forward = check_layernorm_forward(forward_fn)
    if forward.status != "right":
        # An unwritten backward pass is said to be unwritten, whatever the forward pass: probe it once, with the
        # cache the notebook's forward pass returns, (Z_norm, var, gamma, eps).
        Z, gamma, beta, dZ_tilde = _ln_backward_cases()[0].args
        mu, var = Z.mean(axis=0, keepdims=True), Z.var(axis=0, keepdims=True)
        try:
            with quiet():
                backward_fn(dZ_tilde.copy(), ((Z - mu) / np.sqrt(var + 1e-5), var, gamma.copy(), 1e-5))
        except NotImplementedError:
            raise
        except Exception:  # noqa: BLE001 (a written backward pass on a cache it does not expect: judged below)
            pass
        raise AssertionError("check_layernorm_backward: your layernorm_forward does not pass its check yet, and the "
                             "backward pass works on the cache it returns. Fix layernorm_forward first (its check "
                             "cell says what is wrong).")  # fmt: skip

    def via_the_cache(Z, gamma, beta, dZ_tilde, eps=1e-5):
        return backward_fn(dZ_tilde, forward_fn(Z, gamma, beta, eps)[1])

    run("check_layernorm_backward", via_the_cache, _ln_backward_ref, drawn(_ln_backward_cases, hidden),
        LN_BACKWARD_MISTAKES, ["dZ", "dgamma", "dbeta"], shapes=_LAYER_NORM_SHAPES,
        select=returns_tuple(3, "layernorm_backward", ["dZ", "dgamma", "dbeta"]))  # fmt: skip


def _channel_params(rng, n_C, dtype=np.float64):
    """gamma and beta ``(1, 1, 1, n_C)``: sizes 0.5-2 of either sign, shifts in [-2, 2]."""
    return (rng.uniform(0.5, 2.0, (1, 1, 1, n_C)).astype(dtype) * rng.choice([-1.0, 1.0], (1, 1, 1, n_C)).astype(dtype),
            rng.uniform(-2.0, 2.0, (1, 1, 1, n_C)).astype(dtype))  # fmt: skip


def _channel_images(rng, shape, dtype=np.float64):
    """Activations ``shape`` ``(m, n_H, n_W, n_C)``, every channel with its own offset and scale (mixed-up channels show)."""
    n_C = shape[-1]
    return (rng.normal(0.0, 1.0, shape) * rng.uniform(0.5, 3.0, n_C) + rng.uniform(-3.0, 3.0, n_C)).astype(dtype)


_SPATIAL_SHAPES = ("Check the shapes: notebook 02's batch norm wants a matrix with one row per channel and one column "
                   "per example and position, (n_C, m * n_H * n_W), and gamma and beta as (n_C, 1) columns. X holds "
                   "its channels on its last axis, so the rows must be made from that axis; the result goes back to "
                   "X's shape the reverse way.")  # fmt: skip
# batchnorm_forward checks its own shapes: a matrix the wrong way round makes it refuse gamma, which is not what is wrong
_SPATIAL_HINTS = [("gamma must have shape (", "If your gamma is (n_C, 1), the matrix you gave batch norm does not have "
                   "one row per channel: " + _SPATIAL_SHAPES.removeprefix("Check the shapes: "))]  # fmt: skip


def _spatial_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(717) if rng is None else rng

    def params(n_C, dtype=np.float64):
        return _channel_params(rng, n_C, dtype)

    def images(shape, dtype=np.float64):
        # every position with its own offset too, so that statistics per position or per example show
        offsets = rng.uniform(-1.0, 1.0, (1, shape[1], shape[2], 1))
        return (_channel_images(rng, shape, np.float64) + offsets).astype(dtype)

    if visible:
        shapes = [(2, 3, 3, 4), (1, 2, 3, 3), (3, 2, 4, 3), (2, 2, 2, 4), (2, 3, 3, 2)]
    else:  # drawn: at least 2 channels and 2 positions, n_H unlike n_W in the third case, m = 1 in the second
        def draw(m=None, square=True):
            n_H = size(rng, 2, 4)
            return (m or size(rng, 2, 4), n_H, n_H if square else size(rng, 2, 4, avoid=[n_H]), size(rng, 2, 5))

        shapes = [draw(), draw(m=1, square=False), draw(square=False), draw(), draw()]
    (m, n_H, n_W, n_C), one, (m3, h3, w3, c3), eps_shape, f32 = shapes
    return [
        Case(f"{m} examples of {n_H} x {n_W} positions, {n_C} channels, non-trivial gamma and beta",
             (images(shapes[0]), *params(n_C))),
        Case(f"a single example (m = 1) of {one[1]} x {one[2]} positions", (images(one), *params(one[3]))),
        Case(f"{m3} examples of {h3} x {w3} positions (n_H unlike n_W), {c3} channels", (images(shapes[2]), *params(c3))),
        Case("eps = 0.1", (images(eps_shape), *params(eps_shape[3])), {"eps": 0.1}),
        Case("float32 input", (images(f32, np.float32), *params(f32[3], np.float32))),
    ]


def _spatial_ref(X, gamma, beta, eps=1e-5):
    f = lambda a: np.asarray(a, dtype=float)  # noqa: E731
    return (spatial_batchnorm_forward(f(X), f(gamma), f(beta), eps)[0],)


def _spatial(X, g, b, eps=1e-5, rows="right", back="right", axes=(0, 1, 2), affine=True, affine_in_rows=False):
    """Spatial batch norm with pieces swapped out: the engine of the mistakes below.

    ``affine_in_rows``: gamma and beta applied to the (n_C, m n_H n_W) matrix, as notebook 02's batch norm does
    when it is given them as (n_C, 1) columns, before the way back (which then scrambles them too, if wrong).
    """
    X = np.asarray(X, dtype=float)
    m, n_H, n_W, n_C = X.shape
    if axes != (0, 1, 2):
        mu, var = X.mean(axis=axes, keepdims=True), X.var(axis=axes, keepdims=True)
        out = (X - mu) / np.sqrt(var + eps)
        return (g * out + b if affine else out,)
    Z = X.reshape(-1, n_C).T if rows == "right" else X.reshape(n_C, -1)
    Z_norm = (Z - Z.mean(axis=1, keepdims=True)) / np.sqrt(Z.var(axis=1, keepdims=True) + eps)
    if affine_in_rows:
        Z_norm = np.reshape(g, (n_C, 1)) * Z_norm + np.reshape(b, (n_C, 1))
    out = Z_norm.T.reshape(X.shape) if back == "right" else Z_norm.reshape(X.shape)
    return (g * out + b if affine and not affine_in_rows else out,)


_ROWS = ("X.reshape(n_C, -1) does not put one channel in each row: the channels are X's last axis, so each row of "
         "that reshape is a run of consecutive values, mixing channels and positions. Make a matrix with one row per "
         "example and position first (n_C values each), then turn it so that the channels are the rows.")  # fmt: skip
_BACK = ("the way back is not the way in: your (n_C, m * n_H * n_W) result must be transposed back to "
         "(m * n_H * n_W, n_C) before it is reshaped to (m, n_H, n_W, n_C).")  # fmt: skip

SPATIAL_MISTAKES = [
    Mistake(_ROWS, lambda X, g, b, eps=1e-5: _spatial(X, g, b, eps, rows="reshape", back="reshape")),
    Mistake(_BACK, lambda X, g, b, eps=1e-5: _spatial(X, g, b, eps, back="reshape")),
    # the same two mistakes, with gamma and beta given to notebook 02's batch norm as (n_C, 1) columns
    Mistake(_ROWS, lambda X, g, b, eps=1e-5: _spatial(X, g, b, eps, rows="reshape", back="reshape", affine_in_rows=True)),
    Mistake(_BACK, lambda X, g, b, eps=1e-5: _spatial(X, g, b, eps, back="reshape", affine_in_rows=True)),
    Mistake("your statistics are per channel and position, over the examples only (axis 0): spatial batch norm "
            "shares one mean and variance per channel across all positions too, axes (0, 1, 2).",
            lambda X, g, b, eps=1e-5: _spatial(X, g, b, eps, axes=(0,))),
    Mistake("your statistics are per example and channel, over the positions only (axes 1, 2): that is instance "
            "norm. Batch norm also takes them over the examples: axes (0, 1, 2).",
            lambda X, g, b, eps=1e-5: _spatial(X, g, b, eps, axes=(1, 2))),
    Mistake("gamma and beta are not applied: pass them to batch norm as (n_C, 1) columns, gamma.reshape(n_C, 1), "
            "or apply them to the result, gamma * out + beta.",
            lambda X, g, b, eps=1e-5: _spatial(X, g, b, eps, affine=False)),
]


@learner_facing(points=2)
def check_spatial_batchnorm_forward(fn, hidden=False):
    """Check ``fn(X, gamma, beta, eps=1e-5) -> (out, cache)`` against :func:`bn_helpers.normalization.spatial_batchnorm_forward`.

    ``X`` ``(m, n_H, n_W, n_C)``, ``gamma`` and ``beta`` ``(1, 1, 1, n_C)``; only ``out`` is compared. ``fn``
    may call notebook 02's ``batchnorm_forward`` (the exercise is the reshape around it).
    """
    need_function(fn, "check_spatial_batchnorm_forward", "check_spatial_batchnorm_forward(spatial_batchnorm_forward)",
                  allowed=("batchnorm_forward",))  # fmt: skip
    run("check_spatial_batchnorm_forward", fn, _spatial_ref, drawn(_spatial_cases, hidden), SPATIAL_MISTAKES, ["out"],
        shapes=_SPATIAL_SHAPES, hints=_SPATIAL_HINTS,
        select=lambda out: returns_tuple(2, "spatial_batchnorm_forward", ["out", "cache"])(out)[:1])  # fmt: skip


def _groupnorm_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(77) if rng is None else rng

    def params(n_C, dtype=np.float64):
        return _channel_params(rng, n_C, dtype)

    def images(shape, dtype=np.float64):
        return _channel_images(rng, shape, dtype)

    if visible:
        return [
            Case("2 examples of 3 x 3 positions, 6 channels in 3 groups", (images((2, 3, 3, 6)), *params(6), 3)),
            Case("4 channels in 2 groups, 3 examples of 2 x 4", (images((3, 2, 4, 4)), *params(4), 2)),
            Case("one group (layer norm over positions and channels)", (images((2, 2, 2, 6)), *params(6), 1)),
            Case("a single example (m = 1), 6 channels in 2 groups", (images((1, 3, 3, 6)), *params(6), 2)),
            Case("eps = 0.1", (images((2, 2, 2, 4)), *params(4), 2), {"eps": 0.1}),
            Case("float32 input", (images((2, 3, 3, 6), np.float32), *params(6, np.float32), 3)),
        ]
    # Hidden cases draw their shapes, within what each kind's mistakes need to show: 2 to 4 groups (1 and n_C
    # would be layer norm and instance norm) of 2 to 4 channels each, a channel count unlike groups**2 where the
    # visible case has it so (reading `groups` as the channels per group then changes the groups), at least 2
    # positions (with one, statistics per position and PyTorch's flat view are right), n_H unlike n_W in the second
    # case (so that the two spatial axes cannot be swapped unseen), m = 1 and one group where the kind says so.

    def shape(m=None, groups=None, per_group=None, square=True, unlike_groups=True):
        m = m or size(rng, 2, 4)
        groups = groups or size(rng, 2, 4)
        per_group = per_group or size(rng, 2, 4, avoid=[groups] if unlike_groups else [])
        n_H = size(rng, 1, 4)
        n_W = size(rng, 1, 4, avoid=[1] if n_H == 1 else []) if square else size(rng, 1, 4, avoid=[n_H])
        return (m, n_H, n_W, groups * per_group), groups

    def case(name, shape_and_groups, dtype=np.float64, **kwargs):
        (m, n_H, n_W, n_C), groups = shape_and_groups
        names = {"m": m, "n_H": n_H, "n_W": n_W, "n_C": n_C, "groups": groups}
        return Case(name.format(**names), (images((m, n_H, n_W, n_C), dtype), *params(n_C, dtype), groups),
                    {"eps": 0.1} if name == "eps = 0.1" else {})

    return [
        case("{m} examples of {n_H} x {n_W} positions, {n_C} channels in {groups} groups", shape()),
        case("{n_C} channels in {groups} groups, {m} examples of {n_H} x {n_W}", shape(square=False, unlike_groups=False)),
        case("one group (layer norm over positions and channels)", shape(groups=1, per_group=size(rng, 2, 8))),
        case("a single example (m = 1), {n_C} channels in {groups} groups", shape(m=1)),
        case("eps = 0.1", shape()),
        case("float32 input", shape(), np.float32),
    ]


def _groupnorm_ref(X, gamma, beta, groups, eps=1e-5):
    f = lambda a: np.asarray(a, dtype=float)  # noqa: E731
    return (groupnorm_forward(f(X), f(gamma), f(beta), groups, eps)[0],)


def _gn(X, g, b, groups, eps, axes, interleaved=False, ddof=0, outside=False):
    """Normalization of ``X`` viewed as (m, n_H, n_W, groups, n_C / groups) over ``axes`` of that view."""
    X = np.asarray(X, dtype=float)
    m, n_H, n_W, n_C = X.shape
    if interleaved:  # channel c in group c % groups instead of c // (n_C / groups)
        Xg = X.reshape(m, n_H, n_W, n_C // groups, groups).swapaxes(3, 4)
    else:
        Xg = X.reshape(m, n_H, n_W, groups, n_C // groups)
    var = Xg.var(axis=axes, keepdims=True, ddof=ddof)
    Xn = (Xg - Xg.mean(axis=axes, keepdims=True)) / (np.sqrt(var) + eps if outside else np.sqrt(var + eps))
    Xn = Xn.swapaxes(3, 4) if interleaved else Xn
    return (g * Xn.reshape(X.shape) + b,)


def _gn_flat_view(X, g, b, groups, eps=1e-5):
    """PyTorch's recipe, ``X.view(m, groups, -1)``, applied to the channels-last layout: groups of positions."""
    X = np.asarray(X, dtype=float)
    Xg = X.reshape(X.shape[0], groups, -1)
    Xn = (Xg - Xg.mean(axis=2, keepdims=True)) / np.sqrt(Xg.var(axis=2, keepdims=True) + eps)
    return (g * Xn.reshape(X.shape) + b,)


GROUPNORM_MISTAKES = [
    Mistake("your statistics are per channel, over the examples and the positions (axes 0, 1, 2): that is batch "
            "norm. Group norm takes them per example, over the positions and the channels of one group.",
            lambda X, g, b, G, eps=1e-5: _gn(X, g, b, 1, eps, axes=(0, 1, 2))),
    Mistake("your statistics are per position: over the channels of a group at each (h, w), not over the positions "
            "too. Take them over axes (1, 2, 4) of X reshaped to (m, n_H, n_W, groups, n_C // groups).",
            lambda X, g, b, G, eps=1e-5: _gn(X, g, b, G, eps, axes=(4,))),
    Mistake("your group boundaries are wrong: you put channel c in group c % groups, but groups are blocks of "
            "consecutive channels: reshape X to (m, n_H, n_W, groups, n_C // groups), in that order.",
            lambda X, g, b, G, eps=1e-5: _gn(X, g, b, G, eps, axes=(1, 2, 4), interleaved=True)),
    Mistake("your groups are ignored: each channel gets its own statistics (that is instance norm, groups = n_C).",
            lambda X, g, b, G, eps=1e-5: _gn(X, g, b, np.shape(X)[-1], eps, axes=(1, 2, 4))),
    Mistake("your groups are ignored: all channels of an example share one mean and variance (that is groups = 1).",
            lambda X, g, b, G, eps=1e-5: _gn(X, g, b, 1, eps, axes=(1, 2, 4))),
    Mistake("your statistics are taken over axes (1, 2, 3) of the view (m, n_H, n_W, groups, n_C // groups): over "
            "the positions and the groups, one per channel within a group. A group's statistics are over the "
            "positions and the channels of that group: axes (1, 2, 4).",
            lambda X, g, b, G, eps=1e-5: _gn(X, g, b, G, eps, axes=(1, 2, 3))),
    Mistake("your statistics are also taken over the examples (axes (0, 1, 2, 4)): each example has its own "
            "statistics in group norm, over the positions and channels of a group, axes (1, 2, 4).",
            lambda X, g, b, G, eps=1e-5: _gn(X, g, b, G, eps, axes=(0, 1, 2, 4))),
    Mistake("your groups are blocks of the flattened (n_H, n_W, n_C) values, as PyTorch's `x.view(N, G, -1)` makes "
            "them for its channels-first layout (N, C, H, W). Here channels come last: reshape to "
            "(m, n_H, n_W, groups, n_C // groups) so that a group is a block of channels at every position.",
            _gn_flat_view),
    Mistake("you read `groups` as the number of channels in a group: it is the number of groups. Each group has "
            "n_C // groups channels: reshape to (m, n_H, n_W, groups, n_C // groups).",
            lambda X, g, b, G, eps=1e-5: _gn(X, g, b, np.shape(X)[-1] // G, eps, axes=(1, 2, 4))),
    Mistake("your eps is outside the square root: divide by sqrt(sigma^2 + eps).",
            lambda X, g, b, G, eps=1e-5: _gn(X, g, b, G, eps, axes=(1, 2, 4), outside=True)),
    Mistake("your variance divides by its count minus 1 (ddof=1); group norm's divides by the count (np.var's "
            "default ddof=0).", lambda X, g, b, G, eps=1e-5: _gn(X, g, b, G, eps, axes=(1, 2, 4), ddof=1)),
]


@learner_facing(points=3)
def check_groupnorm_forward(fn, hidden=False):
    """Check ``fn(X, gamma, beta, groups, eps=1e-5) -> (out, cache)`` against :func:`bn_helpers.normalization.groupnorm_forward`.

    ``X`` ``(m, n_H, n_W, n_C)``, ``gamma`` and ``beta`` ``(1, 1, 1, n_C)``; only ``out`` is compared.
    """
    need_function(fn, "check_groupnorm_forward", "check_groupnorm_forward(groupnorm_forward)")
    run("check_groupnorm_forward", fn, _groupnorm_ref, drawn(_groupnorm_cases, hidden), GROUPNORM_MISTAKES, ["out"],
        shapes=_GROUP_NORM_SHAPES,
        select=lambda out: returns_tuple(2, "groupnorm_forward", ["out", "cache"])(out)[:1])  # fmt: skip
