"""bn_helpers: a small numpy package behind the batch-norm course notebooks.

Course notation throughout: a layer's pre-activations ``Z`` have shape
``(n_l, m)``, one column per example; ``gamma``, ``beta`` and ``b`` have shape
``(n_l, 1)``. Importing the package has no side effects; notebooks call
:func:`setup_notebook` once.
"""

from .batchnorm import (
    BatchNorm,
    BatchNormCache,
    batchnorm_backward,
    batchnorm_backward_staged,
    batchnorm_forward,
    batchnorm_inference,
)
from .convnet import ConvNet
from .data import Dataset, load_dataset, load_digits, load_mnist1d
from .ewa import ewa_series, ewa_update
from .folding import debias_running_statistics, fold_batchnorm, fold_mlp, reaverage_statistics, recompute_statistics
from .gradcheck import check_model_gradients, error_line, numerical_gradient, rel_error
from .layers import (
    accuracy,
    activation_backward,
    activation_forward,
    dense_backward,
    dense_forward,
    layer_backward,
    layer_forward,
    softmax,
    softmax_cross_entropy,
)
from .minibatches import batch_normalized_example, iterate_minibatches, num_minibatches
from .mlp import MLP
from .multiseed import MultiSeedMLP, train_seeds
from .normalization import (
    groupnorm_backward,
    groupnorm_forward,
    instancenorm_forward,
    layernorm_backward,
    layernorm_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)
from .normalize import input_statistics, normalize_dataset, normalize_inputs
from .notebook import PALETTE, setup_notebook
from .optimizers import Adam, GradientDescent, Momentum, Optimizer, RMSprop, adam_step, make_optimizer, momentum_step
from .sync_batchnorm import (
    PerDeviceBatchNorm,
    combine_statistics,
    per_device_batchnorm_forward,
    per_device_mlp,
    sync_batchnorm_backward,
    sync_batchnorm_forward,
)
from .synthetic import make_covariate_shift, make_two_scale_regression, shifted_label_rule
from .training import train, train_minibatch_gd

__all__ = [
    "Adam",
    "BatchNorm",
    "BatchNormCache",
    "ConvNet",
    "Dataset",
    "GradientDescent",
    "MLP",
    "MultiSeedMLP",
    "Momentum",
    "Optimizer",
    "PALETTE",
    "PerDeviceBatchNorm",
    "RMSprop",
    "accuracy",
    "adam_step",
    "activation_backward",
    "activation_forward",
    "batch_normalized_example",
    "batchnorm_backward",
    "batchnorm_backward_staged",
    "batchnorm_forward",
    "batchnorm_inference",
    "check_model_gradients",
    "combine_statistics",
    "debias_running_statistics",
    "dense_backward",
    "dense_forward",
    "error_line",
    "ewa_series",
    "ewa_update",
    "fold_batchnorm",
    "fold_mlp",
    "groupnorm_backward",
    "groupnorm_forward",
    "input_statistics",
    "instancenorm_forward",
    "iterate_minibatches",
    "layer_backward",
    "layer_forward",
    "layernorm_backward",
    "layernorm_forward",
    "load_dataset",
    "load_digits",
    "load_mnist1d",
    "make_covariate_shift",
    "make_optimizer",
    "make_two_scale_regression",
    "momentum_step",
    "normalize_dataset",
    "normalize_inputs",
    "num_minibatches",
    "numerical_gradient",
    "per_device_batchnorm_forward",
    "per_device_mlp",
    "reaverage_statistics",
    "recompute_statistics",
    "rel_error",
    "setup_notebook",
    "shifted_label_rule",
    "softmax",
    "softmax_cross_entropy",
    "sync_batchnorm_backward",
    "sync_batchnorm_forward",
    "spatial_batchnorm_backward",
    "spatial_batchnorm_forward",
    "train",
    "train_minibatch_gd",
    "train_seeds",
]

__version__ = "0.1.0"
