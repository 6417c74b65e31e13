"""The registry's checks run before any TensorFlow import and say what is allowed."""

import subprocess
import sys

import pytest

from edgevision.errors import UserError
from edgevision.models import build_model, get_spec, list_specs

NAMES = [
    "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "xception", "googlenet",
    "ssdlite_mobilenet_v2",
]


def test_every_architecture_is_listed_with_its_paper_and_normalisation():
    specs = {s.name: s for s in list_specs()}
    assert set(NAMES) <= set(specs)
    assert specs["mobilenet_v1"].alphas == (0.25, 0.5, 0.75, 1.0)
    assert specs["mobilenet_v2"].alphas == (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
    assert specs["xception"].min_input_size == 71 and specs["xception"].default_input_size == 299
    for name in ("mobilenet_v1", "mobilenet_v2", "xception", "googlenet"):
        assert specs[name].mean == (127.5,) * 3 and specs[name].std == (127.5,) * 3
    for name in ("mobilenet_v3_small", "mobilenet_v3_large"):
        assert specs[name].mean == (0.0,) * 3 and specs[name].std == (1.0,) * 3
    assert all("arXiv:" in s.paper for s in specs.values())


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(UserError) as err:
        get_spec("resnet50")
    assert "resnet50" in str(err.value) and all(n in str(err.value) for n in NAMES)


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(name="mobilenet_v2", alpha=0.3), "0.35, 0.5, 0.75, 1.0, 1.3, 1.4"),
        (dict(name="xception", alpha=0.5), "choose one of 1.0"),
        (dict(name="xception", input_size=64), "minimum is 71 px"),
        (dict(name="mobilenet_v1", input_size=31), "minimum is 32 px"),
        (dict(name="mobilenet_v1", input_size=96, weights="imagenet"), "128, 160, 192, 224"),
        (dict(name="googlenet", weights="imagenet"), "no ImageNet weights"),
        (dict(name="mobilenet_v2", weights="missing.weights.h5"), "missing.weights.h5 not found"),
    ],
)
def test_bad_configurations_are_user_errors_before_importing_keras(kwargs, expected):
    with pytest.raises(UserError) as err:
        build_model(**kwargs)
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_importing_the_zoo_does_not_import_tensorflow():
    code = "import sys, edgevision.models; print(any(m in sys.modules for m in ('tensorflow', 'keras')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
