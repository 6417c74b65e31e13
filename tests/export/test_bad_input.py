"""Bad input: exit 2 and one line saying what is wrong and what to do."""

import numpy as np
import pytest

from edgevision.errors import UserError
from tests.export.conftest import save_with_sidecar


def _one_line_error(result):
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("edgevision export:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_missing_model_file(cli, tmp_path):
    line = _one_line_error(cli("export", tmp_path / "nope.keras", "--out", tmp_path / "out"))
    assert "nope.keras not found" in line
    assert not (tmp_path / "out").exists()


def test_file_that_is_not_a_keras_model(cli, tmp_path):
    fake = tmp_path / "model.keras"
    fake.write_text("not a model")
    line = _one_line_error(cli("export", fake, "--out", tmp_path / "out"))
    assert "is not a Keras model" in line


def test_lambda_layer_is_refused_without_unsafe(cli, tmp_path):
    import keras

    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Lambda(lambda x: x * 2.0),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2, activation="softmax")])
    path = save_with_sidecar(model, tmp_path, ["a", "b"], data=None)
    line = _one_line_error(cli("export", path, "--out", tmp_path / "out"))
    assert "Lambda" in line and "--unsafe" in line and "Python code" in line


def test_unknown_custom_layer(tmp_path):
    import keras

    from edgevision.export.pipeline import export_model

    @keras.saving.register_keras_serializable(package="elsewhere")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    model = keras.Sequential([keras.Input((8, 8, 3)), Doubler(), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2, activation="softmax")])
    path = save_with_sidecar(model, tmp_path, ["a", "b"], data=None)
    keras.saving.get_custom_objects().pop("elsewhere>Doubler")
    with pytest.raises(UserError, match="custom layer 'Doubler' that Keras cannot find") as error:
        export_model(path, tmp_path / "out")
    assert "\n" not in str(error.value)


def test_empty_calibration_folder(tmp_path):
    import keras

    from edgevision.export.pipeline import ExportOptions, export_model

    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2, activation="softmax")])
    path = save_with_sidecar(model, tmp_path, ["a", "b"], data=None)
    empty = tmp_path / "calib"
    empty.mkdir()
    with pytest.raises(UserError, match="calib") as error:
        export_model(path, tmp_path / "out", ExportOptions(quantize=("int8",), calib_data=str(empty)))
    assert "\n" not in str(error.value)
    assert not list((tmp_path / "out").glob("*.tflite")) if (tmp_path / "out").exists() else True


def test_model_that_rescales_itself_must_not_be_normalised_twice(tmp_path):
    import keras

    from edgevision.export.pipeline import export_model

    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 127.5, offset=-1),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2, activation="softmax")])
    path = save_with_sidecar(model, tmp_path, ["a", "b"], mean=127.5, std=127.5, data=None)
    with pytest.raises(UserError, match="normalised twice"):
        export_model(path, tmp_path / "out")
    np.testing.assert_equal(len(list(tmp_path.glob("out/*"))), 0)


def _custom_layer_model(tmp_path, layer_class):
    import keras

    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), layer_class(),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2, activation="softmax")])
    return save_with_sidecar(model, tmp_path, ["a", "b"], data="synthetic:shapes:60")


def test_flex_ops_stop_the_export_and_are_named(tmp_path):
    import keras
    import tensorflow as tf

    from edgevision.export.pipeline import export_model

    @keras.saving.register_keras_serializable(package="tests")
    class Determinant(keras.layers.Layer):  # tf.linalg.det has no built-in TFLite kernel
        def call(self, x):
            return x * tf.linalg.det(tf.reshape(x[:, :2, :2, 0], (-1, 2, 2)))[:, None, None, None]

    path = _custom_layer_model(tmp_path, Determinant)
    with pytest.raises(UserError, match="MatrixDeterminant.*Flex"):
        export_model(path, tmp_path / "out")
    assert not (tmp_path / "out" / "model_fp32.tflite").exists()


def test_op_without_int8_kernel_needs_allow_float_fallback(tmp_path):
    import keras

    from edgevision.export.pipeline import ExportOptions, export_model
    from edgevision.metadata import read_sidecar

    @keras.saving.register_keras_serializable(package="tests")
    class Cosine(keras.layers.Layer):  # TFLite COS has a float kernel only
        def call(self, x):
            return keras.ops.cos(x)

    path = _custom_layer_model(tmp_path, Cosine)
    options = ExportOptions(quantize=("int8",), calib_count=20, min_agreement=0.01)
    with pytest.raises(UserError, match="COS cannot be integer-quantized.*--allow-float-fallback"):
        export_model(path, tmp_path / "out", options)
    options.allow_float_fallback = True
    export_model(path, tmp_path / "out", options)
    assert read_sidecar(tmp_path / "out" / "model_int8.tflite").extra["float_ops"] == ["COS"]


@pytest.mark.parametrize("option, value, named", [("--format", "tflite,onx", "onx"), ("--quantize", "int4", "int4"),
                                                  ("--format", ",", "','")])
def test_unknown_format_or_quantization_names_the_choices(cli, tmp_path, option, value, named):
    result = cli("export", tmp_path / "model.keras", "--out", tmp_path / "out", option, value)
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    choices = "tflite, onnx" if option == "--format" else "none, fp16, dynamic, int8"
    assert line == f"edgevision export: error: argument {option}: {named} is not one of {choices} " \
                   "(give one or several, comma-separated)"
    assert not (tmp_path / "out").exists()

