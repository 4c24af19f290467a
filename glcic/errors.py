"""Errors raised at the library's boundaries.

Every error that a user can cause (a bad file, a bad mask, a bad config, a bad
model path) is an :class:`InputError`. Its message says what was expected, what
arrived and how to fix it. The CLI turns it into one line and exit code 2; the
HTTP server turns it into a 4xx JSON answer.
"""


class InputError(ValueError):
    """Bad input from a user: file, image, mask, config, checkpoint or request."""


class ConfigError(InputError):
    """A configuration value, preset or override that cannot be used."""


class BundleError(InputError):
    """A path that is not a usable glcic model bundle or checkpoint."""


class ImageTooLargeError(InputError):
    """An image (or mask) over the pixel limit; the server answers 413, not 400."""
