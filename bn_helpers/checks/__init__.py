"""Checks for the exercises: try the learner's function, compare with ``bn_helpers``, name the mistake.

Each ``check_<name>(fn)`` calls the learner's ``fn`` on a few cases chosen to
expose common mistakes and compares what it returns with the reference
implementation in ``bn_helpers``. Right, it prints one line with the bound
every case met; wrong, it prints the first failing case, what was expected and
what came back, the mistake when it recognises one, and in which other cases
it is wrong (:mod:`bn_helpers.checks.core` says how). Either way it returns
the points earned (a :class:`Score`: its share of the check's ``points`` by
the cases passed, 0 for a function not written yet), which is the value
nbgrader reads from the grade cell, and it never raises for the learner's
code, so Run All goes on. ``check.__wrapped__`` raises instead, for code that
needs the verdict as an exception; :func:`verdict` returns the score and the
printed text.

``check_<name>(..., hidden=True)`` judges cases of the same kinds drawn at
random when it runs (a grade cell's hidden part, stripped from the student
copies): it prints nothing when they pass, and its value is the points for
those cases, so a function that only knows the visible cases earns nothing.
``hidden=<seed>`` draws the same cases again.

One module per notebook holds that notebook's checks and their catalogues of
mistakes; the core they are written on is :mod:`bn_helpers.checks.core`.
Import a check from here: ``from bn_helpers.checks import check_batchnorm_forward``.
After a check, :func:`yours_or_ours` lets a notebook go on with the learner's
function once it passes, and with the package's until then.

A check is a teacher, not a judge: every message it can give is produced by
a test in ``tests/test_checks*.py`` that feeds it that mistake.
"""

from ..gradcheck import rel_error
from .after_training import COMBINE_MISTAKES, FOLD_MISTAKES, check_combine_statistics, check_fold_batchnorm
from .at_test_time import (
    EWA_MISTAKES,
    INFERENCE_MISTAKES,
    TRAIN_EVAL_MISTAKES,
    check_batchnorm_inference,
    check_batchnorm_layer,
    check_ewa_update,
)
from .core import TOLERANCE, Case, Mistake, Score, verdict
from .fallback import yours_or_ours
from .fitting_batch_norm import (
    LAYER_BACKWARD_MISTAKES,
    LAYER_FORWARD_MISTAKES,
    LOOP_MISTAKES,
    check_layer_backward,
    check_layer_forward,
    check_train_minibatch_gd,
)
from .implementing_batch_norm import (
    BACKWARD_MISTAKES,
    CACHE_MISTAKES,
    FORWARD_MISTAKES,
    STAGED_MISTAKES,
    check_batchnorm_backward,
    check_batchnorm_backward_staged,
    check_batchnorm_forward,
    reference_backward,
    reference_backward_staged,
    reference_forward,
)
from .mini_batches import ADAM_MISTAKES, MOMENTUM_MISTAKES, check_adam_step, check_momentum_step
from .normalizing_inputs import NORMALIZE_MISTAKES, check_normalize_inputs
from .other_axes import (
    GROUPNORM_MISTAKES,
    LAYERNORM_MISTAKES,
    LN_BACKWARD_MISTAKES,
    SPATIAL_MISTAKES,
    check_groupnorm_forward,
    check_layernorm_backward,
    check_layernorm_forward,
    check_spatial_batchnorm_forward,
)
from .why_batch_norm_works import NOISE_MISTAKES, check_batch_normalized_example

__all__ = [
    # in the notebooks' order
    "check_normalize_inputs",
    "check_batchnorm_forward",
    "check_batchnorm_backward",
    "check_batchnorm_backward_staged",
    "check_layer_forward",
    "check_train_minibatch_gd",
    "check_layer_backward",
    "check_momentum_step",
    "check_adam_step",
    "check_batch_normalized_example",
    "check_batchnorm_inference",
    "check_ewa_update",
    "check_batchnorm_layer",
    "check_layernorm_forward",
    "check_layernorm_backward",
    "check_spatial_batchnorm_forward",
    "check_groupnorm_forward",
    "check_fold_batchnorm",
    "check_combine_statistics",
    "rel_error",
    "yours_or_ours",
    "reference_forward",
    "reference_backward",
    "reference_backward_staged",
    "verdict",
    "Score",
    # the core and the catalogues, for a new check and for the tests
    "TOLERANCE",
    "Case",
    "Mistake",
    "NORMALIZE_MISTAKES",
    "FORWARD_MISTAKES",
    "CACHE_MISTAKES",
    "BACKWARD_MISTAKES",
    "STAGED_MISTAKES",
    "LAYER_FORWARD_MISTAKES",
    "LOOP_MISTAKES",
    "LAYER_BACKWARD_MISTAKES",
    "MOMENTUM_MISTAKES",
    "ADAM_MISTAKES",
    "NOISE_MISTAKES",
    "INFERENCE_MISTAKES",
    "EWA_MISTAKES",
    "TRAIN_EVAL_MISTAKES",
    "LAYERNORM_MISTAKES",
    "LN_BACKWARD_MISTAKES",
    "SPATIAL_MISTAKES",
    "GROUPNORM_MISTAKES",
    "FOLD_MISTAKES",
    "COMBINE_MISTAKES",
]
