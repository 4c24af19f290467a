"""Networks: the completion network, the context discriminators and the SN-PatchGAN option."""

from glcic.models.completion import (
    CompletionNetwork,
    composite,
    fill_holes,
    layer_table,
    receptive_field,
    receptive_field_bounds,
)
from glcic.models.discriminators import (
    ContextDiscriminator,
    GlobalDiscriminator,
    LocalDiscriminator,
    PatchDiscriminator,
    build_discriminator,
)

__all__ = [
    "CompletionNetwork",
    "ContextDiscriminator",
    "GlobalDiscriminator",
    "LocalDiscriminator",
    "PatchDiscriminator",
    "build_discriminator",
    "composite",
    "fill_holes",
    "layer_table",
    "receptive_field",
    "receptive_field_bounds",
]
