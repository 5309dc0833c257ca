"""Notebook 06's checks: batch norm at inference with running statistics, the exponentially weighted average, and
a batch-norm layer class with its train/eval switch."""

from __future__ import annotations

import inspect

import numpy as np

from ..batchnorm import BatchNorm, batchnorm_inference
from ..ewa import ewa_step, ewa_update
from .core import Case, Mistake, Refused, _outputs, _same, describe, drawn, learner_facing, need_function, run, size
from .implementing_batch_norm import forward_variant
from .refusal import package_use


def _inference_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(11) if rng is None else rng

    def stats(n, dtype=np.float64):
        return (rng.normal(0.0, 2.0, (n, 1)).astype(dtype), rng.uniform(0.5, 3.0, (n, 1)).astype(dtype))

    def params(n, dtype=np.float64):
        return rng.uniform(0.5, 2.0, (n, 1)).astype(dtype), rng.uniform(-2.0, 2.0, (n, 1)).astype(dtype)

    # The visible shapes, or (hidden) shapes drawn for each kind: n unlike m in the first case, m = 1 in the second.
    if visible:
        shapes = [(3, 5), (4, 1), (2, 6), (3, 4), (2, 7)]
    else:
        n = size(rng, 2, 7)
        shapes = [(n, size(rng, 2, 14, avoid=[n])), (size(rng, 2, 8), 1), (size(rng, 2, 7), size(rng, 2, 12)),
                  (size(rng, 1, 7), size(rng, 1, 12)), (size(rng, 1, 6), size(rng, 2, 16))]  # fmt: skip
    (n, m), shape_1, shape_near_0, shape_32, shape_int = shapes
    near_0 = shape_near_0[0]
    if visible:
        var_near_0 = np.array([[1e-6], [2.0]])
    else:  # one unit, drawn, has a running variance below eps
        var_near_0 = rng.uniform(0.5, 3.0, (near_0, 1))
        var_near_0[rng.integers(near_0)] = 10.0 ** rng.uniform(-7.0, -5.5)
    return [
        Case(f"{n} units x {m} examples", (rng.normal(1.0, 2.0, (n, m)), *params(n), *stats(n))),
        Case("a single example (m = 1)", (rng.normal(1.0, 2.0, shape_1), *params(shape_1[0]), *stats(shape_1[0]))),
        Case("a running variance near 0", (rng.normal(0.0, 1e-3, shape_near_0), *params(near_0), np.zeros((near_0, 1)),
                                           var_near_0)),  # fmt: skip
        Case("float32 input", (rng.normal(1.0, 2.0, shape_32).astype(np.float32), *params(shape_32[0], np.float32),
                               *stats(shape_32[0], np.float32))),  # fmt: skip
        Case("integer input", (rng.integers(-5, 6, shape_int), *params(shape_int[0]), *stats(shape_int[0]))),
    ]


def _inference_ref(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    f = lambda a: np.asarray(a, dtype=float)  # noqa: E731
    return (batchnorm_inference(f(Z), f(gamma), f(beta), f(running_mean), f(running_var), eps),)


def _inf(Z, g, b, mean, var, eps, scale=None):
    Z = np.asarray(Z, dtype=float)
    return g * (Z - mean) / (np.sqrt(var + eps) if scale is None else scale) + b


# Said by the inference check and, of eval mode, by the layer's check below.
_BATCH_STATS = ("you normalize with the batch's own mean and variance. At test time use the running averages "
                "(running_mean, running_var): a single example has no batch statistics, and a prediction must not "
                "depend on the other examples.")  # fmt: skip
_BATCH_MEAN = ("you combine the batch's own mean with the running variance: both statistics come from training, "
               "z_norm = (z - running_mean) / sqrt(running_var + eps).")  # fmt: skip
_BATCH_VAR = ("you combine the running mean with the batch's own variance: both statistics come from training, "
              "z_norm = (z - running_mean) / sqrt(running_var + eps).")  # fmt: skip

INFERENCE_MISTAKES = [
    Mistake(_BATCH_STATS, lambda Z, g, b, mean, var, eps=1e-5: forward_variant()(Z, g, b, eps)),
    Mistake(_BATCH_MEAN,
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, g, b, np.asarray(Z, float).mean(axis=1, keepdims=True), var, eps),)),
    Mistake(_BATCH_VAR,
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, g, b, mean, np.asarray(Z, float).var(axis=1, keepdims=True), eps),)),
    Mistake("your eps is outside the square root: divide by sqrt(running_var + eps).",
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, g, b, mean, var, eps, scale=np.sqrt(var) + eps),)),
    Mistake("you divide by the running variance instead of its square root.",
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, g, b, mean, var, eps, scale=var + eps),)),
    Mistake("your gamma and beta are swapped: z_tilde = gamma * z_norm + beta.",
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, b, g, mean, var, eps),)),
    Mistake("gamma and beta are not applied: return gamma * z_norm + beta.",
            lambda Z, g, b, mean, var, eps=1e-5: (_inf(Z, 1.0, 0.0, mean, var, eps),)),
]


@learner_facing(points=2)
def check_batchnorm_inference(fn, hidden=False):
    """Check ``fn(Z, gamma, beta, running_mean, running_var, eps=1e-5) -> Z_tilde`` against ``batchnorm_inference``.

    ``Z`` ``(n_l, m)`` with any ``m >= 1``; the other arrays ``(n_l, 1)``.
    """
    need_function(fn, "check_batchnorm_inference", "check_batchnorm_inference(batchnorm_inference)")
    run("check_batchnorm_inference", fn, _inference_ref, drawn(_inference_cases, hidden), INFERENCE_MISTAKES, ["Z_tilde"],
        select=lambda out: (out,))  # fmt: skip


def _ewa_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(3) if rng is None else rng
    # The visible cases show round numbers; hidden ones draw every value, so that no answer can be looked up, and
    # every array's number of rows (units), so that no shape can be counted on.
    n_arrays, n_zero, n_default, n_ints = (3, 2, 2, 2) if visible else (size(rng, 2, 7) for _ in range(4))
    a, v = (0.0, 5.0) if visible else (float(np.round(rng.normal(0.0, 3.0), 3)), float(np.round(rng.normal(0.0, 3.0), 3)))
    averages = np.array([[1.0], [2.0]]) if visible else rng.normal(0.0, 2.0, (n_default, 1))
    values = np.array([[3.0], [-1.0]]) if visible else rng.normal(0.0, 2.0, (n_default, 1))
    ints = (np.array([[0], [4]]), np.array([[10], [2]])) if visible else tuple(rng.integers(-10, 11, (2, n_ints, 1)))
    return [
        Case(f"arrays of shape ({n_arrays}, 1), beta = 0.99",
             (rng.normal(0.0, 1.0, (n_arrays, 1)), rng.normal(2.0, 1.0, (n_arrays, 1))), {"beta": 0.99}),
        Case(f"numbers: average {a!r}, value {v!r}, beta = 0.9", (a, v), {"beta": 0.9}),
        Case("beta = 0 (the average becomes the value)",
             (rng.normal(0.0, 1.0, (n_zero, 1)), rng.normal(0.0, 1.0, (n_zero, 1))), {"beta": 0.0}),
        Case("the default beta (0.9)", (averages, values)),
        Case("integer values", ints, {"beta": 0.5}),
    ]


def _ewa_ref(average, value, beta=0.9):
    return (ewa_update(np.asarray(average, dtype=float), np.asarray(value, dtype=float), beta=beta),)


EWA_MISTAKES = [
    Mistake("your weights are swapped: the average keeps beta of itself and takes (1 - beta) of the new value, "
            "average := beta * average + (1 - beta) * value.",
            lambda average, value, beta=0.9: ((1 - beta) * np.asarray(average, float) + beta * np.asarray(value, float),)),
    Mistake("you add the new value without its weight (1 - beta): average := beta * average + (1 - beta) * value.",
            lambda average, value, beta=0.9: (beta * np.asarray(average, float) + np.asarray(value, float),)),
    Mistake("you return the new value only; the average must remember the past: beta * average + (1 - beta) * value.",
            lambda average, value, beta=0.9: (np.asarray(value, float) + 0.0,)),
]


@learner_facing(points=1)
def check_ewa_update(fn, hidden=False):
    """Check ``fn(average, value, beta=0.9) -> new average`` (numbers or arrays of one shape) against ``ewa_update``."""
    need_function(fn, "check_ewa_update", "check_ewa_update(ewa_update)")
    run("check_ewa_update", fn, _ewa_ref, drawn(_ewa_cases, hidden), EWA_MISTAKES, ["new average"], select=lambda out: (out,))


# --- the batch-norm layer with its train/eval switch ------------------------------------------------------------


def _layer_cases(rng=None):
    visible = rng is None
    rng = np.random.default_rng(6) if rng is None else rng

    def case(name, n, settings, sizes):
        # Unit 0 sits far from 0, so that a batch's statistics and the running ones (which start at 0 and 1, and
        # take a few batches to get there) give clearly different outputs.
        offset = np.zeros((n, 1))
        offset[0] = 50.0 if visible else rng.uniform(20.0, 80.0) * rng.choice([-1.0, 1.0])
        centre, spread = offset + rng.normal(0.0, 1.0, (n, 1)), rng.uniform(0.5, 3.0, (n, 1))

        def batch(m):
            return centre + spread * rng.normal(0.0, 1.0, (n, m))

        gamma = rng.uniform(0.5, 2.0, (n, 1)) * rng.choice([-1.0, 1.0], (n, 1))
        beta = rng.uniform(-2.0, 2.0, (n, 1))
        m_1, m_3, m_eval, m_last = sizes
        return Case(name, (n, gamma, beta, [batch(m_1), batch(2), batch(m_3)], [batch(m_eval), batch(1)], batch(m_last)),
                    settings)  # fmt: skip

    def shapes(n):
        """The units and the batch sizes: the visible ones, or (hidden) drawn, the scenario's kinds kept (a training
        batch of m = 2 between two larger ones, an eval batch and a single example, one more training batch)."""
        if visible:
            return n, (4, 6, 5, 4)
        sizes = (size(rng, 3, 8), size(rng, 3, 8), size(rng, 2, 8), size(rng, 3, 8))
        # n differs from every m, so that a statistic without keepdims fails loudly instead of broadcasting
        return size(rng, 3, 9, avoid=sizes), sizes

    (n_a, sizes_a), (n_b, sizes_b), (n_c, sizes_c) = shapes(3), shapes(7), shapes(3)
    return [
        case(f"{n_a} units, the default settings (eps = 1e-5, ewa_beta = 0.9, biased running variance)", n_a, {},
             sizes_a),
        case(f"{n_b} units, ewa_beta = 0.5, unbiased_running_var = True", n_b,
             {"ewa_beta": 0.5, "unbiased_running_var": True}, sizes_b),
        case(f"{n_c} units, eps = 0.1, ewa_beta = 0.99, unbiased_running_var = False", n_c,
             {"eps": 0.1, "ewa_beta": 0.99, "unbiased_running_var": False}, sizes_c),
    ]  # fmt: skip


#: What the scenario returns, in order (see :func:`_scenario`).
_LAYER_OUTPUTS = ["Z_tilde in training mode (the batches of 4, 2 and 6 examples side by side)",
                  "running_mean after training", "running_var after training",
                  "Z_tilde in eval mode (a batch of 5 examples, then a single example, side by side)",
                  "what the eval-mode passes changed in (running_mean, running_var), side by side",
                  "Z_tilde in training mode again, after train() (4 examples)"]  # fmt: skip

#: The same, for the hidden cases, whose batch sizes are drawn (the failing case's name says its units).
_HIDDEN_LAYER_OUTPUTS = ["Z_tilde in training mode (the three training batches side by side, the second of 2 examples)",
                         *_LAYER_OUTPUTS[1:3],
                         "Z_tilde in eval mode (a batch, then a single example, side by side)",
                         _LAYER_OUTPUTS[4], "Z_tilde in training mode again, after train()"]  # fmt: skip


def _scenario(layer_class):
    """The check's scenario run on ``layer_class``: a function of a case's arguments, returning ``_LAYER_OUTPUTS``.

    ``fn(n_units, gamma, beta, batches, eval_batches, last_batch, **settings)``
    builds ``layer_class(n_units, **settings)``, sets ``gamma`` and ``beta``
    on it (as an optimizer would change them), runs the training ``batches``,
    switches to eval mode for the ``eval_batches`` (the last a single
    example), then back to training mode for ``last_batch``.
    """

    def fn(n_units, gamma, beta, batches, eval_batches, last_batch, **settings):
        layer = layer_class(n_units, **settings)
        layer.gamma, layer.beta = gamma, beta
        trained = [_layer_forward(layer, Z, f"in training mode (batch {i} of {len(batches)})")
                   for i, Z in enumerate(batches, 1)]  # fmt: skip
        averages = _averages(layer, n_units, "after training")
        _switch(layer, "eval")
        evaluated = [_layer_forward(layer, Z, f"in eval mode ({Z.shape[1]} example{'s' * (Z.shape[1] > 1)})")
                     for Z in eval_batches]  # fmt: skip
        moved = _averages(layer, n_units, "after the eval-mode passes") - averages
        _switch(layer, "train")
        last = _layer_forward(layer, last_batch, "in training mode again, after train()")
        return (np.concatenate(trained, axis=1), averages[:, :1], averages[:, 1:], np.concatenate(evaluated, axis=1),
                moved, last)

    return fn


def _layer_forward(layer, Z, when):
    """``layer.forward(Z)``, refused unless it is one array of Z's shape (the scenario sets outputs side by side)."""
    got = layer.forward(Z)
    if isinstance(got, np.ndarray) and got.shape == Z.shape:
        return got
    hint = ""
    if got is None:
        hint = " Does forward end with `return Z_tilde`?"
    elif isinstance(got, tuple):
        hint = " Return Z_tilde alone (batchnorm_forward returns (Z_tilde, cache): unpack it)."
    elif np.shape(got) == Z.shape[:1]:
        hint = " A column has lost its second axis: keep shapes (n_l, m), also for a single example (m = 1)."
    raise Refused(f"forward {when} returned {describe(got)}; expected Z_tilde, an array of Z's shape {Z.shape}.{hint}")


def _averages(layer, n_units, when):
    """``(running_mean, running_var)`` side by side, ``(n_units, 2)``: a copy (a later pass may update in place)."""
    columns = []
    for name in ("running_mean", "running_var"):
        if not hasattr(layer, name):
            raise Refused(f"your layer has no attribute {name} {when}: __init__ creates it, of shape (n_units, 1) "
                          f"(running_mean zeros, running_var ones), and training mode updates it.")  # fmt: skip
        value = getattr(layer, name)
        if not isinstance(value, np.ndarray) or value.shape != (n_units, 1):
            raise Refused(f"{name} {when} is {describe(value)}; expected an array of shape ({n_units}, 1), one row per "
                          f"unit, like the batch statistics with keepdims=True.")  # fmt: skip
        columns.append(np.array(value, dtype=float))
    return np.concatenate(columns, axis=1)


def _switch(layer, mode):
    """``layer.train()`` or ``layer.eval()``, which return the layer, as PyTorch's do: ``layer.eval().forward(Z)``."""
    got = getattr(layer, mode)()
    if got is not layer:
        raise Refused(f"{mode}() returned {describe(got)}: it must return the layer itself, `return self`, so that "
                      f"`layer.{mode}().forward(Z)` works.")  # fmt: skip


def layer_variant(init_mean=0.0, init_var=1.0, switch="right", affine=True, train_stats="batch",
                  normalize_var="biased", update=True, update_with="batch", ewa="right", running_var="setting",
                  eval_stats="running", bias_correction=False, eval_updates=False):  # fmt: skip
    """A batch-norm layer class with the settings given: the engine of the catalogue below.

    The class has the exercise's interface (``__init__(n_units, eps=1e-5,
    ewa_beta=0.9, unbiased_running_var=False)``, ``train``, ``eval``,
    ``forward``). The defaults are right; each other setting is a mistake learners make:

    - ``init_mean``, ``init_var``: where the running averages start (0 and 1);
    - ``switch``: "right", "eval_ignored" (eval() leaves training mode on), "train_ignored";
    - ``affine``: False uses gamma = 1 and beta = 0 instead of the layer's attributes;
    - ``train_stats``: what a training batch is normalized with: "batch", or the running averages
      before ("running_old") or after ("running_new") this batch's update;
    - ``normalize_var``: "biased", or "unbiased_when_asked" (m / (m - 1) when unbiased_running_var);
    - ``update``: False never updates the running averages;
    - ``update_with``: the statistics averaged: of "batch" (z), "z_norm" or "z_tilde";
    - ``ewa``: "right", or "swapped" (ewa_beta weighs the new statistic);
    - ``running_var``: the variance averaged: "setting" (as unbiased_running_var says), "biased", "unbiased";
    - ``eval_stats``: what eval mode normalizes with: "running", "batch", "batch_mean" (with the
      running variance), "batch_var" (with the running mean);
    - ``bias_correction``: True divides the running averages by 1 - ewa_beta**t in eval mode;
    - ``eval_updates``: True updates the running averages in eval mode too (after normalizing).
    """

    class Layer:
        def __init__(self, n_units, eps=1e-5, ewa_beta=0.9, unbiased_running_var=False):
            self.eps, self.ewa_beta, self.unbiased_running_var = eps, ewa_beta, unbiased_running_var
            self.gamma, self.beta = np.ones((n_units, 1)), np.zeros((n_units, 1))
            self.running_mean, self.running_var = np.full((n_units, 1), init_mean), np.full((n_units, 1), init_var)
            self.training, self.steps = True, 0

        def train(self):
            self.training = self.training if switch == "train_ignored" else True
            return self

        def eval(self):
            self.training = self.training if switch == "eval_ignored" else False
            return self

        def forward(self, Z):
            Z = np.asarray(Z, dtype=float)
            g, b = (self.gamma, self.beta) if affine else (1.0, 0.0)
            mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
            if self.training:
                before = self.running_mean, self.running_var
                if update:
                    self._fold(Z, g, b)
                biased = normalize_var == "biased" or not self.unbiased_running_var
                stats = {"batch": (mu, var if biased else var * _unbiasing(Z)), "running_old": before,
                         "running_new": (self.running_mean, self.running_var)}[train_stats]  # fmt: skip
                return _inf(Z, g, b, *stats, self.eps)
            correction = 1.0 - self.ewa_beta**self.steps if bias_correction else 1.0
            mean, running_var = self.running_mean / correction, self.running_var / correction
            Z_tilde = _inf(Z, g, b, mu if eval_stats in ("batch", "batch_mean") else mean,
                           var if eval_stats in ("batch", "batch_var") else running_var, self.eps)  # fmt: skip
            if eval_updates:
                self._fold(Z, g, b)
            return Z_tilde

        def _fold(self, Z, g, b):
            """This batch's statistics into the running averages, as the settings say."""
            mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
            Z_norm = _inf(Z, 1.0, 0.0, mu, var, self.eps)
            source = {"batch": Z, "z_norm": Z_norm, "z_tilde": g * Z_norm + b}[update_with]
            unbiased = {"setting": self.unbiased_running_var, "biased": False, "unbiased": True}[running_var]
            mean, var = source.mean(axis=1, keepdims=True), source.var(axis=1, keepdims=True)
            weight = self.ewa_beta if ewa == "right" else 1.0 - self.ewa_beta
            self.running_mean = ewa_step(self.running_mean, mean, weight)
            self.running_var = ewa_step(self.running_var, var * _unbiasing(Z) if unbiased else var, weight)
            self.steps += 1

    return Layer


def _unbiasing(Z):
    """m / (m - 1), the factor that makes a batch's variance unbiased (inf for one example, as numpy has it)."""
    m = np.float64(Z.shape[1])
    return m / (m - 1.0)


def _layer(message, **options):
    return Mistake(message, _scenario(layer_variant(**options)), options)


# Both orders of this mistake (normalize, then update, or the converse) get this message; they never explain the
# same output, so it is never said twice. Eval mode that updates has one order in the catalogue: the other changes
# the running averages alike, and that output names it.
_TRAIN_ON_RUNNING = ("in training mode you normalize with the running averages: training mode normalizes with the "
                     "batch's own mean and variance (as batchnorm_forward does), then folds them into the running "
                     "averages, which only eval mode normalizes with.")  # fmt: skip

# A switch that does not switch makes one mode behave as the other, which other mistakes do to some outputs (eval
# mode with batch statistics, training with the running averages): these are named only when they explain every
# output (see _switch_ignored), so that a learner with one of those mistakes is not told that a switch fails.
_SWITCH_MISTAKES = [
    _layer("your eval() does not switch forward to eval mode: in eval mode your layer does what it does in "
           "training (batch statistics, running averages updated). Check that eval() sets the attribute forward "
           "reads (self.training = False) and train() sets it back.", switch="eval_ignored"),
    _layer("your train() does not switch back to training mode: after eval(), train() must set the attribute "
           "forward reads (self.training = True), so that training can go on after an evaluation.",
           switch="train_ignored"),
]

_OUTPUT_MISTAKES = [
    _layer("your layer updates running_mean and running_var in eval mode: eval mode only reads them. Update them in "
           "training mode only, so that a prediction leaves the layer as it was (the same input then gives the same "
           "output every time).", eval_updates=True),
    _layer(f"in eval mode {_BATCH_STATS}", eval_stats="batch"),
    _layer(f"in eval mode {_BATCH_MEAN}", eval_stats="batch_mean"),
    _layer(f"in eval mode {_BATCH_VAR}", eval_stats="batch_var"),
    _layer("your running_mean and running_var are never updated in training mode: after normalizing a batch, fold "
           "its statistics in, running_mean = ewa_update(running_mean, mu, beta=ewa_beta), and running_var the "
           "same way with the batch variance.", update=False),
    _layer(_TRAIN_ON_RUNNING, train_stats="running_old"),
    _layer(_TRAIN_ON_RUNNING, train_stats="running_new"),
    _layer("you divide the running averages by 1 - ewa_beta**t (a bias correction): batch norm uses them as they "
           "are. The correction undoes a start at 0, but running_var starts at 1, so dividing inflates it for the "
           "first steps (PyTorch and Keras do not correct either).", bias_correction=True),
    _layer("your running averages are updated with the statistics of z_norm (mean about 0, variance about 1, for "
           "every batch): average the batch's own mean and variance of z, the ones eval mode normalizes with.",
           update_with="z_norm"),
    _layer("your running averages are updated with the statistics of z_tilde (mean about beta, variance about "
           "gamma^2): average the batch's own mean and variance of z, before gamma and beta, the ones eval mode "
           "normalizes with.", update_with="z_tilde"),
    _layer("your running averages give ewa_beta to the new batch's statistic: running = ewa_beta * running + "
           "(1 - ewa_beta) * batch statistic, so that they change slowly. (PyTorch's momentum=0.1 is the weight of "
           "the new statistic, 1 - ewa_beta; Keras's momentum=0.9 is ewa_beta.)", ewa="swapped"),
    _layer("your running variance ignores unbiased_running_var=True: with it, the running variance averages the "
           "batch variance times m / (m - 1) (PyTorch's choice); with False, the default, the batch variance itself.",
           running_var="biased"),
    _layer("your running variance averages the batch variance times m / (m - 1) although unbiased_running_var is "
           "False (the default, the lecture's choice): multiply by m / (m - 1) only when it is True.",
           running_var="unbiased"),
    _layer("you normalize the training batch with its variance times m / (m - 1): that factor is for the running "
           "variance only (when unbiased_running_var is True); the batch itself is normalized with its variance "
           "divided by m, as batchnorm_forward does.", normalize_var="unbiased_when_asked"),
    _layer("your running_var starts at 0: start it at ones, np.ones((n_units, 1)), as PyTorch does (and "
           "running_mean at zeros).", init_var=0.0),
    _layer("your running_mean starts at 1: start it at zeros, np.zeros((n_units, 1)), as PyTorch does (and "
           "running_var at ones).", init_mean=1.0),
    _layer("your forward does not use the layer's gamma and beta as they are now: read self.gamma and self.beta in "
           "forward (an optimizer changes them between batches; this check sets them after building the layer).",
           affine=False),
]

TRAIN_EVAL_MISTAKES = _SWITCH_MISTAKES + _OUTPUT_MISTAKES


def _switch_ignored(case, got):
    """The switch mistakes whose scenario gives every output the learner's class gave (``run``'s ``diagnose``)."""
    outputs = [(mistake, _outputs(mistake.fn, case)) for mistake in _SWITCH_MISTAKES]
    return [mistake.message for mistake, out in outputs if out is not None and all(map(_same, out, got))]


# numpy's and the package's words when a single example meets training-mode arithmetic
_SINGLE_EXAMPLE = [
    ("at least 2 examples", "In eval mode forward normalizes with running_mean and running_var, which works for any "
                            "m, a single example too; batchnorm_forward, with the batch's own statistics, is for "
                            "training mode. Does eval() set the attribute forward reads?"),
    ("division by zero", "A single example (m = 1) makes m - 1 zero: eval mode computes nothing from the batch, and "
                         "m / (m - 1) belongs to the running variance's update in training mode only."),
]  # fmt: skip

_LAYER_MAY_CALL = ("batchnorm_forward", "batchnorm_inference", "ewa_update")


def _need_layer_class(layer_class):
    """Refuse what is not a class, and a class that is, subclasses or calls into the package's layers."""
    if not isinstance(layer_class, type):
        kind = type(layer_class).__name__
        instance = "" if type(layer_class).__module__ == "builtins" else f" (an instance: pass {kind}, not {kind}(...))"
        raise TypeError(f"check_batchnorm_layer takes your class itself, e.g. check_batchnorm_layer(BatchNorm); "
                        f"got {kind}{instance}")
    methods = inspect.getmembers(layer_class, inspect.isfunction)
    parts = [("class", layer_class), *((f"class's base {base.__name__}", base) for base in layer_class.__mro__[1:-1]),
             *((f"{layer_class.__name__}.{name}", method) for name, method in methods)]  # fmt: skip
    for label, part in parts:
        used = package_use(part, _LAYER_MAY_CALL)
        if used:
            raise AssertionError(f"check_batchnorm_layer: your {label} {used}. This exercise is for writing the layer "
                                 f"yourself, with numpy (its methods may call {', '.join(_LAYER_MAY_CALL[:-1])} and "
                                 f"{_LAYER_MAY_CALL[-1]}, yours or bn_helpers', by those names): bn_helpers' "
                                 f"BatchNorm is the answer the check compares with.")  # fmt: skip


@learner_facing(points=3)
def check_batchnorm_layer(layer_class, hidden=False):
    """Check a batch-norm layer class with a train/eval switch against :class:`bn_helpers.BatchNorm`.

    ``layer_class(n_units, eps=1e-5, ewa_beta=0.9, unbiased_running_var=False)``
    holds ``gamma``, ``beta`` (set again by the check after building it),
    ``running_mean`` and ``running_var``, all ``(n_units, 1)``; ``train()``
    and ``eval()`` switch the mode and return the layer; ``forward(Z)`` takes
    ``Z`` ``(n_units, m)`` and returns ``Z_tilde`` ``(n_units, m)``. Each case
    is a scenario: training batches of 4, 2 and 6 examples, ``eval()``, a
    batch of 5 and a single example, ``train()``, one more batch (hidden
    cases draw the number of units and the batch sizes other than 2 and 1); the outputs,
    the running averages after training and what eval mode changed in them
    are compared.
    """
    _need_layer_class(layer_class)
    cases = drawn(_layer_cases, hidden)
    run("check_batchnorm_layer", _scenario(layer_class), _scenario(BatchNorm), cases,
        _OUTPUT_MISTAKES, _LAYER_OUTPUTS if cases.seed is None else _HIDDEN_LAYER_OUTPUTS, build=lambda **options: _scenario(layer_variant(**options)),
        diagnose=_switch_ignored, hints=_SINGLE_EXAMPLE)  # fmt: skip
