"""`edgevision models` as a user runs it: the listing, one configuration, and bad input."""

import json

import pytest


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--name", "resnet50"], "unknown model 'resnet50': choose one of mobilenet_v1, mobilenet_v2"),
        (["--name", "mobilenet_v2", "--alpha", "0.3"], "choose one of 0.35, 0.5, 0.75, 1.0, 1.3, 1.4"),
        (["--name", "xception", "--input-size", "64"], "the minimum is 71 px"),
        (["--name", "googlenet", "--weights", "imagenet"], "googlenet has no ImageNet weights"),
        (["--name", "mobilenet_v1", "--weights", "nowhere.h5"], "weights file nowhere.h5 not found"),
        (["--alpha", "0.5"], "add --name MODEL"),
    ],
)
def test_bad_input_exits_2_with_one_line(cli, args, expected):
    result = cli("models", *args)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.slow
def test_listing_shows_every_architecture_with_its_cost(cli):
    result = cli("models", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)["models"]}
    assert rows["mobilenet_v1"]["params"] == 4_253_864
    assert rows["xception"]["default_input_size"] == 299
    assert 500e6 < rows["mobilenet_v1"]["macs"] < 600e6
    assert all(r["paper"] and r["alphas"] and r["macs"] > 0 for r in rows.values())
    detector = rows["ssdlite_mobilenet_v2"]
    assert detector["task"] == "detect" and detector["num_classes"] == 90 and detector["input_size"] == [320, 320]
    from edgevision.commands.models import format_table

    table = format_table(list(rows.values()))
    assert "mobilenet_v3_large" in table and "4,253,864" in table


@pytest.mark.slow
def test_one_configuration_with_a_local_weights_file(cli, tmp_path):
    from edgevision.models import build_model

    path = tmp_path / "tiny.weights.h5"
    build_model("mobilenet_v2", num_classes=4, alpha=0.35, input_size=96).save_weights(path)
    args = ["--name", "mobilenet_v2", "--alpha", "0.35", "--input-size", "96", "--num-classes", "4"]
    result = cli("models", *args, "--weights", path, "--json")
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)["models"]
    assert row["input_size"] == [96, 96] and row["num_classes"] == 4 and row["weights"] == str(path)


@pytest.mark.slow
def test_unreachable_imagenet_download_says_how_to_pass_the_file(cli, tmp_path, monkeypatch):
    # An empty Keras cache and a proxy that refuses connections: the download fails for real.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    result = cli("models", "--name", "mobilenet_v2", "--alpha", "0.35", "--input-size", "96", "--weights", "imagenet")
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "downloading the ImageNet weights of mobilenet_v2" in last and "--weights PATH" in last
    assert "Traceback" not in result.stderr
