"""The names the deploy face exports for release units."""

from tentacular.deploy._release._bundle import BundleOptions
from tentacular.deploy._release._bundle import bundle as release_bundle
from tentacular.deploy._release._ops import ReleaseOptions
from tentacular.deploy._release._ops import apply as release_apply
from tentacular.deploy._release._ops import plan as release_plan
from tentacular.deploy._release._ops import promote as release_promote
from tentacular.deploy._release._ops import show as release_show
from tentacular.deploy._release._ops import verify as release_verify

__all__ = [
    "BundleOptions",
    "ReleaseOptions",
    "release_apply",
    "release_bundle",
    "release_plan",
    "release_promote",
    "release_show",
    "release_verify",
]
