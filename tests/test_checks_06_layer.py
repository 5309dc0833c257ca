"""Notebook 06's layer exercise: a batch-norm class with its train/eval switch, and what its check says.

``BatchNormLayer`` below is the exercise's solution as a learner writes it
(numpy, and the notebook's own ``inference`` and ``ewa``). Each wrong class is
that class with one method written again, the mistake in one line (marked),
independently of the check's catalogue, so that a test passes only if the
check recognises the mistake in ordinary code.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import bn_helpers
from bn_helpers import BatchNorm, batchnorm_forward, batchnorm_inference, checks, ewa_update
from bn_helpers import train  # noqa: F401 -- notebook 06 imports it: a method's self.train() must not read as it

check = checks.check_batchnorm_layer


def inference(Z, gamma, beta, running_mean, running_var, eps=1e-5):
    return gamma * (Z - running_mean) / np.sqrt(running_var + eps) + beta


def ewa(average, value, beta=0.9):
    return beta * average + (1 - beta) * value


class BatchNormLayer:
    def __init__(self, n_units, eps=1e-5, ewa_beta=0.9, unbiased_running_var=False):
        self.eps, self.ewa_beta, self.unbiased_running_var = eps, ewa_beta, unbiased_running_var
        self.gamma, self.beta = np.ones((n_units, 1)), np.zeros((n_units, 1))
        self.running_mean = np.zeros((n_units, 1))
        self.running_var = np.ones((n_units, 1))
        self.training = True

    def train(self):
        self.training = True
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, Z):
        if not self.training:
            return inference(Z, self.gamma, self.beta, self.running_mean, self.running_var, self.eps)
        m = Z.shape[1]
        mu = Z.mean(axis=1, keepdims=True)
        var = ((Z - mu) ** 2).mean(axis=1, keepdims=True)
        Z_tilde = self.gamma * (Z - mu) / np.sqrt(var + self.eps) + self.beta
        self.running_mean = ewa(self.running_mean, mu, self.ewa_beta)
        self.running_var = ewa(self.running_var, var * m / (m - 1) if self.unbiased_running_var else var, self.ewa_beta)
        return Z_tilde


def fails_with(cls, match):
    """The check's message for a wrong class: it scores less than full marks and says what ``match`` expects."""
    score, message = checks.verdict(check, cls)
    assert score.status == "wrong" and score < score.of, message
    assert re.search(match, message), message
    return message


# --- right classes pass --------------------------------------------------------------------------------------


def test_the_right_class_passes_with_one_line_and_a_bound(capsys):
    assert check(BatchNormLayer) == 3
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("check_batchnorm_layer: right in all 3 cases (3 units, the default")
    assert out.endswith(". Each case is within 1e-10 of the reference (relative error).\n")


def test_the_right_class_passes_the_hidden_cases_silently(capsys):
    assert check(BatchNormLayer, hidden=True) == 3
    assert check(BatchNormLayer, hidden=5) == 3
    assert capsys.readouterr().out == ""


class LayerWithTheAllowedHelpers(BatchNormLayer):
    def __init__(self, n_units, eps=1e-5, ewa_beta=0.9, unbiased_running_var=False):
        super().__init__(n_units, eps, ewa_beta, unbiased_running_var)
        self.train()  # notebook 06 has bn_helpers' train as a global: this is the layer's own method

    def forward(self, Z):
        if not self.training:
            return batchnorm_inference(Z, self.gamma, self.beta, self.running_mean, self.running_var, self.eps)
        Z_tilde, cache = batchnorm_forward(Z, self.gamma, self.beta, self.eps)
        m = Z.shape[1]
        var = cache.var * m / (m - 1) if self.unbiased_running_var else cache.var
        self.running_mean = ewa_update(self.running_mean, cache.mu, beta=self.ewa_beta)
        self.running_var = ewa_update(self.running_var, var, beta=self.ewa_beta)
        return Z_tilde


def test_a_class_calling_the_allowed_helpers_passes():
    score, said = checks.verdict(check, LayerWithTheAllowedHelpers)
    assert score == 3 and "right in all 3 cases" in said, said


def test_the_engine_of_the_catalogue_is_right_with_its_defaults():
    from bn_helpers.checks.at_test_time import _layer_cases, _scenario, layer_variant

    for case in _layer_cases():
        expected = _scenario(BatchNorm)(*case.args, **case.kwargs)
        got = _scenario(layer_variant())(*case.args, **case.kwargs)
        assert all(np.allclose(e, g, rtol=1e-12, atol=1e-12) for e, g in zip(expected, got)), case.name


# --- the package's layer is refused; what is not a class is said -----------------------------------------------


class SubclassOfThePackages(BatchNorm):
    pass


class WrapperOfThePackages:
    def __init__(self, n_units, eps=1e-5, ewa_beta=0.9, unbiased_running_var=False):
        self.layer = BatchNorm(n_units, eps, ewa_beta, unbiased_running_var)

    def train(self):
        self.layer.train()
        return self

    def eval(self):
        self.layer.eval()
        return self

    def forward(self, Z):
        return self.layer.forward(Z)


class ThroughTheFastKernel(BatchNormLayer):
    def forward(self, Z):
        if not self.training:
            return super().forward(Z)
        Z_tilde, cache = bn_helpers.FastBatchNorm().forward(Z, self.gamma, self.beta, self.eps)
        self.running_mean = ewa(self.running_mean, cache.mu, self.ewa_beta)
        self.running_var = ewa(self.running_var, cache.var, self.ewa_beta)
        return Z_tilde


@pytest.mark.parametrize("cls, how", [
    (BatchNorm, r"class is bn_helpers' own bn_helpers\.batchnorm\.BatchNorm"),
    (SubclassOfThePackages, r"class's base BatchNorm is bn_helpers' own bn_helpers\.batchnorm\.BatchNorm"),
    (WrapperOfThePackages, r"WrapperOfThePackages\.__init__ uses bn_helpers\.batchnorm\.BatchNorm"),
    (ThroughTheFastKernel, r"ThroughTheFastKernel\.forward uses the module bn_helpers"),
])  # fmt: skip
def test_the_packages_layer_is_refused_however_it_is_reached(cls, how):
    score, said = checks.verdict(check, cls)
    assert score == 0, said
    assert re.match(rf"check_batchnorm_layer: your {how}\. This exercise is for writing the layer yourself, with numpy "
                    r"\(its methods may call batchnorm_forward, batchnorm_inference and ewa_update, yours or "
                    r"bn_helpers', by those names\): bn_helpers' BatchNorm is the answer the check compares with\.",
                    said), said  # fmt: skip


@pytest.mark.parametrize("given, got", [
    ("BatchNormLayer", r"got str$"),
    (BatchNormLayer(3), r"got BatchNormLayer \(an instance: pass BatchNormLayer, not BatchNormLayer\(\.\.\.\)\)$"),
])  # fmt: skip
def test_what_is_not_a_class_is_said(given, got):
    score, said = checks.verdict(check, given)
    assert score == 0 and re.match(r"check_batchnorm_layer takes your class itself, e\.g\. "
                                   r"check_batchnorm_layer\(BatchNorm\); " + got, said.strip()), said  # fmt: skip


def test_an_unwritten_class_is_named_as_unwritten_and_scores_zero():
    class BatchNorm(BatchNormLayer):  # the student copy's stub
        def forward(self, Z):
            raise NotImplementedError()

    score, said = checks.verdict(check, BatchNorm)
    assert (score, score.status) == (0, "unwritten") and said.startswith("check_batchnorm_layer: BatchNorm is not "
                                                                         "written yet"), said  # fmt: skip


# --- every catalogued mistake, each in a learner's class ------------------------------------------------------


class EvalDoesNotSwitch(BatchNormLayer):
    def eval(self):
        self.mode = "eval"  # <- forward reads self.training
        return self


class TrainDoesNotSwitchBack(BatchNormLayer):
    def train(self):
        return self  # <- self.training stays False


class EvalUpdatesTheAverages(BatchNormLayer):
    def forward(self, Z):
        if not self.training:
            Z_tilde = inference(Z, self.gamma, self.beta, self.running_mean, self.running_var, self.eps)
            self.running_mean = ewa(self.running_mean, Z.mean(axis=1, keepdims=True), self.ewa_beta)  # <-
            self.running_var = ewa(self.running_var, Z.var(axis=1, keepdims=True), self.ewa_beta)  # <-
            return Z_tilde
        return super().forward(Z)


class EvalWithBatchStatistics(BatchNormLayer):
    def forward(self, Z):
        if not self.training:
            mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
            return inference(Z, self.gamma, self.beta, mu, var, self.eps)  # <- the batch's statistics
        return super().forward(Z)


class EvalWithTheBatchMean(BatchNormLayer):
    def forward(self, Z):
        if not self.training:
            mu = Z.mean(axis=1, keepdims=True)
            return inference(Z, self.gamma, self.beta, mu, self.running_var, self.eps)  # <- mu, not running_mean
        return super().forward(Z)


class EvalWithTheBatchVariance(BatchNormLayer):
    def forward(self, Z):
        if not self.training:
            var = Z.var(axis=1, keepdims=True)
            return inference(Z, self.gamma, self.beta, self.running_mean, var, self.eps)  # <- var, not running_var
        return super().forward(Z)


class NeverUpdated(BatchNormLayer):
    def forward(self, Z):
        if not self.training:
            return inference(Z, self.gamma, self.beta, self.running_mean, self.running_var, self.eps)
        mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
        return self.gamma * (Z - mu) / np.sqrt(var + self.eps) + self.beta  # <- and the running averages?


class TrainsOnTheRunningAverages(BatchNormLayer):
    def forward(self, Z):
        if self.training:
            self.running_mean = ewa(self.running_mean, Z.mean(axis=1, keepdims=True), self.ewa_beta)
            self.running_var = ewa(self.running_var, Z.var(axis=1, keepdims=True), self.ewa_beta)
        return inference(Z, self.gamma, self.beta, self.running_mean, self.running_var, self.eps)  # <- in both modes


class BiasCorrected(BatchNormLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.t = 0

    def forward(self, Z):
        if not self.training:
            c = 1 - self.ewa_beta**self.t  # <- Adam's correction
            return inference(Z, self.gamma, self.beta, self.running_mean / c, self.running_var / c, self.eps)
        self.t += 1
        return super().forward(Z)


class AveragesOfZNorm(BatchNormLayer):
    def forward(self, Z):
        if not self.training:
            return super().forward(Z)
        mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
        Z_norm = (Z - mu) / np.sqrt(var + self.eps)
        self.running_mean = ewa(self.running_mean, Z_norm.mean(axis=1, keepdims=True), self.ewa_beta)  # <-
        self.running_var = ewa(self.running_var, Z_norm.var(axis=1, keepdims=True), self.ewa_beta)  # <-
        return self.gamma * Z_norm + self.beta


class AveragesOfZTilde(BatchNormLayer):
    def forward(self, Z):
        if not self.training:
            return super().forward(Z)
        mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
        Z_tilde = self.gamma * (Z - mu) / np.sqrt(var + self.eps) + self.beta
        self.running_mean = ewa(self.running_mean, Z_tilde.mean(axis=1, keepdims=True), self.ewa_beta)  # <-
        self.running_var = ewa(self.running_var, Z_tilde.var(axis=1, keepdims=True), self.ewa_beta)  # <-
        return Z_tilde


class MomentumAsKeras(BatchNormLayer):
    def forward(self, Z):
        if not self.training:
            return super().forward(Z)
        mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
        self.running_mean = ewa(mu, self.running_mean, self.ewa_beta)  # <- the arguments swapped
        self.running_var = ewa(var, self.running_var, self.ewa_beta)  # <-
        return self.gamma * (Z - mu) / np.sqrt(var + self.eps) + self.beta


class AlwaysBiased(BatchNormLayer):
    def forward(self, Z):
        if not self.training:
            return super().forward(Z)
        mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
        self.running_mean = ewa(self.running_mean, mu, self.ewa_beta)
        self.running_var = ewa(self.running_var, var, self.ewa_beta)  # <- unbiased_running_var never read
        return self.gamma * (Z - mu) / np.sqrt(var + self.eps) + self.beta


class AlwaysUnbiased(BatchNormLayer):
    def forward(self, Z):
        if not self.training:
            return super().forward(Z)
        mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
        self.running_mean = ewa(self.running_mean, mu, self.ewa_beta)
        self.running_var = ewa(self.running_var, Z.var(axis=1, ddof=1, keepdims=True), self.ewa_beta)  # <-
        return self.gamma * (Z - mu) / np.sqrt(var + self.eps) + self.beta


class NormalizesWithTheUnbiasedVariance(BatchNormLayer):
    def forward(self, Z):
        if not self.training:
            return super().forward(Z)
        m = Z.shape[1]
        mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
        if self.unbiased_running_var:
            var = var * m / (m - 1)  # <- used below to normalize too
        self.running_mean = ewa(self.running_mean, mu, self.ewa_beta)
        self.running_var = ewa(self.running_var, var, self.ewa_beta)
        return self.gamma * (Z - mu) / np.sqrt(var + self.eps) + self.beta


class VarianceStartsAtZero(BatchNormLayer):
    def __init__(self, n_units, eps=1e-5, ewa_beta=0.9, unbiased_running_var=False):
        super().__init__(n_units, eps, ewa_beta, unbiased_running_var)
        self.running_var = np.zeros((n_units, 1))  # <-


class MeanStartsAtOne(BatchNormLayer):
    def __init__(self, n_units, eps=1e-5, ewa_beta=0.9, unbiased_running_var=False):
        super().__init__(n_units, eps, ewa_beta, unbiased_running_var)
        self.running_mean = np.ones((n_units, 1))  # <-


class OwnCopyOfGammaAndBeta(BatchNormLayer):
    def __init__(self, n_units, eps=1e-5, ewa_beta=0.9, unbiased_running_var=False):
        super().__init__(n_units, eps, ewa_beta, unbiased_running_var)
        self.params = {"gamma": np.ones((n_units, 1)), "beta": np.zeros((n_units, 1))}

    def forward(self, Z):
        self.gamma, self.beta = self.params["gamma"], self.params["beta"]  # <- the layer's gamma and beta replaced
        return super().forward(Z)


@pytest.mark.parametrize("cls, match", [
    (EvalDoesNotSwitch, r"Likely mistake: your eval\(\) does not switch forward to eval mode"),
    (TrainDoesNotSwitchBack, r"Likely mistake: your train\(\) does not switch back to training mode"),
    (EvalUpdatesTheAverages, r"Likely mistake: your layer updates running_mean and running_var in eval mode"),
    (EvalWithBatchStatistics, r"Likely mistake: in eval mode you normalize with the batch's own mean and variance"),
    (EvalWithTheBatchMean, r"Likely mistake: in eval mode you combine the batch's own mean with the running variance"),
    (EvalWithTheBatchVariance, r"Likely mistake: in eval mode you combine the running mean with the batch's own var"),
    (NeverUpdated, r"Likely mistake: your running_mean and running_var are never updated in training mode"),
    (TrainsOnTheRunningAverages, r"Likely mistake: in training mode you normalize with the running averages"),
    (BiasCorrected, r"Likely mistake: you divide the running averages by 1 - ewa_beta\*\*t"),
    (AveragesOfZNorm, r"Likely mistake: your running averages are updated with the statistics of z_norm"),
    (AveragesOfZTilde, r"Likely mistake: your running averages are updated with the statistics of z_tilde"),
    (MomentumAsKeras, r"Likely mistake: your running averages give ewa_beta to the new batch's statistic"),
    (AlwaysBiased, r"Likely mistake: your running variance ignores unbiased_running_var=True"),
    (AlwaysUnbiased, r"Likely mistake: your running variance averages the batch variance times m / \(m - 1\) "
                     r"although"),
    (NormalizesWithTheUnbiasedVariance, r"Likely mistake: you normalize the training batch with its variance times"),
    (VarianceStartsAtZero, r"Likely mistake: your running_var starts at 0"),
    (MeanStartsAtOne, r"Likely mistake: your running_mean starts at 1"),
    (OwnCopyOfGammaAndBeta, r"Likely mistake: your forward does not use the layer's gamma and beta as they are now"),
])  # fmt: skip
def test_each_mistake_is_named(cls, match):
    fails_with(cls, match)


def _named(message):
    return [line.split(":")[1].strip() for line in message.splitlines() if line.startswith("Likely mistake: ")]


def test_a_mistake_in_one_line_is_named_alone():
    assert _named(fails_with(EvalWithBatchStatistics, "Likely mistake")) == [
        "in eval mode you normalize with the batch's own mean and variance. At test time use the running averages "
        "(running_mean, running_var)"]  # fmt: skip
    assert len(_named(fails_with(VarianceStartsAtZero, "Likely mistake"))) == 1


def test_eval_mode_that_is_training_mode_is_named_with_what_it_does():
    assert _named(fails_with(EvalDoesNotSwitch, "Likely mistake")) == [
        "in eval mode you normalize with the batch's own mean and variance. At test time use the running averages "
        "(running_mean, running_var)",
        "your layer updates running_mean and running_var in eval mode",
        "your eval() does not switch forward to eval mode"]  # fmt: skip


class AveragesStartSwapped(BatchNormLayer):
    def __init__(self, n_units, eps=1e-5, ewa_beta=0.9, unbiased_running_var=False):
        super().__init__(n_units, eps, ewa_beta, unbiased_running_var)
        self.running_mean, self.running_var = np.ones((n_units, 1)), np.zeros((n_units, 1))  # <- swapped


def test_two_mistakes_get_both_names():
    named = _named(fails_with(AveragesStartSwapped, "Likely mistake"))
    assert set(named) == {"your running_mean starts at 1", "your running_var starts at 0"}, named


def test_a_wrong_class_fails_the_hidden_cases_too():
    score, said = checks.verdict(lambda cls: check(cls, hidden=11), AlwaysUnbiased)
    assert score == 1 and "Wrong in 2 of 3 hidden cases" in said and "hidden=11 draws the same ones again" in said
    assert "Likely mistake: your running variance averages the batch variance times m / (m - 1)" in said


# --- what is not a comparison: the form of what comes back, and the errors a single example meets -------------


class ReturnsTheCacheToo(BatchNormLayer):
    def forward(self, Z):
        if self.training:
            return batchnorm_forward(Z, self.gamma, self.beta, self.eps)  # <- (Z_tilde, cache)
        return super().forward(Z)


class ForgetsTheReturn(BatchNormLayer):
    def forward(self, Z):
        super().forward(Z)  # <- no return


class SqueezesTheOutput(BatchNormLayer):
    def forward(self, Z):
        return np.squeeze(super().forward(Z))  # <- a single example loses its axis


class EvalReturnsNothing(BatchNormLayer):
    def eval(self):
        self.training = False  # <- no return self


class NoRunningMean(BatchNormLayer):
    def __init__(self, n_units, eps=1e-5, ewa_beta=0.9, unbiased_running_var=False):
        super().__init__(n_units, eps, ewa_beta, unbiased_running_var)
        del self.running_mean
        self.mean = np.zeros((n_units, 1))  # <- another name

    def forward(self, Z):
        self.running_mean = self.mean
        Z_tilde = super().forward(Z)
        self.mean = self.running_mean
        del self.running_mean
        return Z_tilde


class RowMeans(BatchNormLayer):
    def forward(self, Z):
        Z_tilde = super().forward(Z)
        self.running_mean = self.running_mean.reshape(-1)[: Z.shape[0]]  # <- the column made flat
        return Z_tilde


class EvalByBatchnormForward(BatchNormLayer):
    def forward(self, Z):
        if not self.training:
            return batchnorm_forward(Z, self.gamma, self.beta, self.eps)[0]  # <- training mode's function
        return super().forward(Z)


class FactorForEveryBatch(BatchNormLayer):
    def forward(self, Z):
        m = Z.shape[1]
        factor = m / (m - 1)  # <- computed in eval mode too
        if not self.training:
            return inference(Z, self.gamma, self.beta, self.running_mean, self.running_var, self.eps)
        mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
        self.running_mean = ewa(self.running_mean, mu, self.ewa_beta)
        self.running_var = ewa(self.running_var, var * factor if self.unbiased_running_var else var, self.ewa_beta)
        return self.gamma * (Z - mu) / np.sqrt(var + self.eps) + self.beta


class NormalizesInPlace(BatchNormLayer):
    def forward(self, Z):
        if not self.training:
            return super().forward(Z)
        Z_tilde = super().forward(Z.copy())
        Z -= Z.mean(axis=1, keepdims=True)  # <- changes the caller's array
        return Z_tilde


@pytest.mark.parametrize("cls, match", [
    (ReturnsTheCacheToo, r"case '3 units, the default settings .*': forward in training mode \(batch 1 of 3\) "
                         r"returned a tuple of 2 \(an array of shape \(3, 4\), a BatchNormCache\); expected Z_tilde, "
                         r"an array of Z's shape \(3, 4\)\. Return Z_tilde alone \(batchnorm_forward returns "
                         r"\(Z_tilde, cache\): unpack it\)\."),
    (ForgetsTheReturn, r"forward in training mode \(batch 1 of 3\) returned None; expected Z_tilde, an array of Z's "
                       r"shape \(3, 4\)\. Does forward end with `return Z_tilde`\?"),
    (SqueezesTheOutput, r"forward in eval mode \(1 example\) returned an array of shape \(3,\); expected Z_tilde, an "
                        r"array of Z's shape \(3, 1\)\. A column has lost its second axis"),
    (EvalReturnsNothing, r"eval\(\) returned None: it must return the layer itself, `return self`"),
    (NoRunningMean, r"your layer has no attribute running_mean after training: __init__ creates it, of shape "
                    r"\(n_units, 1\)"),
    (RowMeans, r"running_mean after training is an array of shape \(3,\); expected an array of shape \(3, 1\)"),
    (EvalByBatchnormForward, r"your function raised ValueError: Z must have at least 2 examples .* In eval mode "
                             r"forward normalizes with running_mean and running_var, which works for any m"),
    (FactorForEveryBatch, r"your function raised ZeroDivisionError: division by zero\. A single example \(m = 1\) "
                          r"makes m - 1 zero"),
    (NormalizesInPlace, r"your function changed `batches\[0\]` in place"),
])  # fmt: skip
def test_what_is_not_a_wrong_value_is_said_in_words(cls, match):
    fails_with(cls, match)


def test_every_catalogued_mistake_of_the_layer_has_a_test_here():
    import ast

    patterns = [node.value.split("Likely mistake: ")[-1] for node in ast.walk(ast.parse(open(__file__).read()))
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and "Likely mistake: " in node.value
                and len(node.value.split("Likely mistake: ")[-1]) >= 12]  # fmt: skip
    for mistake in checks.TRAIN_EVAL_MISTAKES:
        assert any(re.match(p, mistake.message) for p in patterns), f"no test names: {mistake.message}"
