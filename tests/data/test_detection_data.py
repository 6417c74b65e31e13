"""Detection datasets: COCO, VOC and YOLO read into one format; faults counted; bad input exits 2."""

import json

import cv2
import numpy as np
import pytest

from edgevision.data.detection import load_detection, scan
from edgevision.data.detection.synthetic import draw_scene
from edgevision.errors import UserError


def _image(path, width=80, height=60):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((height, width, 3), 90, np.uint8))
    return path


def _coco(tmp_path, annotations, images=("a.png", "b.png", "c.png")):
    for name in images:
        _image(tmp_path / "images" / name)
    data = {
        "images": [{"id": i + 1, "file_name": n, "width": 80, "height": 60} for i, n in enumerate(images)],
        "annotations": [{"id": i + 1, "iscrowd": 0, **a} for i, a in enumerate(annotations)],
        "categories": [{"id": 3, "name": "cat"}, {"id": 7, "name": "dog"}],
    }
    (tmp_path / "annotations").mkdir()
    path = tmp_path / "annotations" / "instances.json"
    path.write_text(json.dumps(data))
    return path


def _all_records(dataset):
    return {r.path.name: r for split in dataset.splits.values() for r in split}


def test_coco_boxes_classes_and_faults_in_one_warning(tmp_path, capsys):
    path = _coco(tmp_path, [
        {"image_id": 1, "category_id": 7, "bbox": [10, 5, 20, 30]},
        {"image_id": 1, "category_id": 3, "bbox": [70, 50, 20, 20]},  # reaches outside: clipped
        {"image_id": 2, "category_id": 3, "bbox": [5, 5, 0, 10]},  # zero area: dropped
        {"image_id": 2, "category_id": 99, "bbox": [5, 5, 10, 10]},  # unknown class: dropped
        {"image_id": 3, "category_id": 3, "bbox": [1, 2, 3, 4]},
    ], images=("a.png", "b.png", "c.png", "gone.png"))
    (tmp_path / "images" / "gone.png").unlink()
    dataset = scan(path)
    assert dataset.class_names == ["cat", "dog"]
    records = _all_records(dataset)
    assert sorted(records) == ["a.png", "b.png", "c.png"]
    np.testing.assert_allclose(records["a.png"].boxes, [[10, 5, 30, 35], [70, 50, 80, 60]])
    assert records["a.png"].classes.tolist() == [1, 0]
    assert len(records["b.png"].boxes) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    for words in ("1 box(es) clipped", "1 zero-area", "1 box(es) of unknown classes", "1 missing image"):
        assert words in err[0]


def test_voc_folder(tmp_path):
    for i in range(3):
        _image(tmp_path / "JPEGImages" / f"im{i}.jpg", 100, 50)
        objects = "".join(
            f"<object><name>{name}</name><bndbox><xmin>{x}</xmin><ymin>4</ymin><xmax>{x + 20}</xmax>"
            f"<ymax>40</ymax></bndbox></object>" for name, x in (("person", 5), ("bike", 50 + i))
        )
        (tmp_path / "Annotations").mkdir(exist_ok=True)
        (tmp_path / "Annotations" / f"im{i}.xml").write_text(
            f"<annotation><filename>im{i}.jpg</filename>{objects}</annotation>")
    data = load_detection(tmp_path, "train", image_size=(25, 50), seed=1)
    assert data.class_names == ["bike", "person"]
    assert data.images.shape[1:] == (25, 50, 3)
    for boxes, classes in zip(data.boxes, data.classes, strict=True):
        assert classes.tolist() == [1, 0]
        np.testing.assert_allclose(boxes[0], [2.5, 2, 12.5, 20])  # halved with the pixels


def test_yolo_folder_with_data_yaml(tmp_path):
    (tmp_path / "data.yaml").write_text("names:\n  0: red\n  1: blue\n")
    for i in range(3):
        _image(tmp_path / "images" / f"f{i}.png", 200, 100)
        (tmp_path / "labels").mkdir(exist_ok=True)
        (tmp_path / "labels" / f"f{i}.txt").write_text("1 0.5 0.5 0.2 0.4\n0 0.95 0.1 0.2 0.2\nbroken line\n")
    dataset = scan(tmp_path)
    assert dataset.class_names == ["red", "blue"]
    record = _all_records(dataset)["f0.png"]
    np.testing.assert_allclose(record.boxes, [[80, 30, 120, 70], [170, 0, 200, 20]], atol=1e-4)
    assert record.classes.tolist() == [1, 0]
    assert dataset.faults["clipped"] == 3 and dataset.faults["malformed"] == 3


def test_split_folders_are_respected(tmp_path):
    for split, count in (("train", 4), ("val", 2)):
        (tmp_path / split).mkdir()
        (tmp_path / split / "classes.txt").write_text("thing\n")
        for i in range(count):
            _image(tmp_path / split / f"{split}{i}.png")
            (tmp_path / split / f"{split}{i}.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    dataset = scan(tmp_path)
    assert sorted(r.path.name for r in dataset.splits["val"]) == ["val0.png", "val1.png"]
    assert len(dataset.splits["train"]) + len(dataset.splits["test"]) == 4


@pytest.mark.parametrize("case", ["not_json", "no_annotations", "voc_without_xml", "yolo_id_too_big", "nothing"])
def test_bad_detection_data_is_a_one_line_user_error(tmp_path, case):
    if case == "not_json":
        (tmp_path / "instances.json").write_text("{ this is not json")
        source = tmp_path / "instances.json"
    elif case == "no_annotations":
        (tmp_path / "instances.json").write_text(json.dumps({"images": [], "categories": []}))
        source = tmp_path / "instances.json"
    elif case == "voc_without_xml":
        (tmp_path / "Annotations").mkdir()
        source = tmp_path
    elif case == "yolo_id_too_big":
        (tmp_path / "classes.txt").write_text("a\nb\n")
        _image(tmp_path / "x.png")
        (tmp_path / "x.txt").write_text("2 0.5 0.5 0.1 0.1\n")
        source = tmp_path
    else:
        source = tmp_path
    with pytest.raises(UserError) as info:
        load_detection(source, "train")
    message = str(info.value)
    assert "\n" not in message and str(tmp_path) in message
    if case == "no_annotations":
        assert "annotations" in message
    if case == "yolo_id_too_big":
        assert "class id 2" in message


def test_synthetic_shapes_det_is_seeded_and_boxes_fit_the_shapes():
    a = load_detection("synthetic:shapes-det:100", "train", image_size=96, limit=12)
    b = load_detection("synthetic:shapes-det:100", "train", image_size=96, limit=12)
    assert np.array_equal(a.images, b.images)
    assert a.class_names == ["circle", "square", "triangle", "star"]
    assert {int(c) for cls in a.classes for c in cls} == {0, 1, 2, 3}
    test = load_detection("synthetic:shapes-det:100", "test", image_size=96)
    assert len(test.images) == 10 and not np.array_equal(test.images[0], a.images[0])
    rng = np.random.default_rng(3)
    for _ in range(10):
        image, boxes, classes = draw_scene(rng, 128, 128)
        assert len(boxes) == len(classes) >= 1
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= 128).all()


def test_synthetic_shape_box_is_tight():
    from edgevision.data.synthetic import draw_shape

    for shape in ("circle", "square", "triangle", "star"):
        image = np.zeros((100, 100, 3), np.uint8)
        box = draw_shape(image, shape, 50.3, 47.1, 21.5, 0.7, (255, 255, 255))
        ys, xs = np.nonzero(image[..., 0] > 127)
        np.testing.assert_allclose([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], box, atol=1.5)


def test_unknown_synthetic_detection_source():
    with pytest.raises(UserError):
        load_detection("synthetic:shapes-det:abc", "train")


def _roboflow_voc(folder, names):
    """A Roboflow "Pascal VOC" export split: JPEGs with their XML beside them, no class list file."""
    folder.mkdir(parents=True)
    for i, name in enumerate(names):
        _image(folder / f"{folder.name}{i}.jpg", 64, 64)
        (folder / f"{folder.name}{i}.xml").write_text(
            f"<annotation><filename>{folder.name}{i}.jpg</filename><object><name>{name}</name><bndbox>"
            f"<xmin>8</xmin><xmax>40</xmax><ymin>4</ymin><ymax>60</ymax></bndbox></object></annotation>")


@pytest.mark.parametrize("val_folder", ["val", "valid", "validation"])
def test_roboflow_layout_reads_as_it_is(tmp_path, val_folder, capsys):
    _roboflow_voc(tmp_path / "train", ["drowsy", "awake", "awake", "drowsy"])
    _roboflow_voc(tmp_path / val_folder, ["awake", "drowsy"])
    _roboflow_voc(tmp_path / "test", ["drowsy"])
    dataset = scan(tmp_path)
    assert dataset.class_names == ["awake", "drowsy"]  # found in the XML files, sorted
    names = {split: sorted(r.path.name for r in records) for split, records in dataset.splits.items()}
    assert names == {"train": [f"train{i}.jpg" for i in range(4)], "val": [f"{val_folder}{i}.jpg" for i in range(2)],
                     "test": ["test0.jpg"]}
    assert [r.classes.tolist() for r in sorted(dataset.splits["val"], key=lambda r: r.path.name)] == [[0], [1]]
    assert capsys.readouterr().err == ""  # nothing wrong, nothing to warn about


def test_real_roboflow_export_drowsiness(reference):
    """The real Roboflow export: train/ and validation/, XML beside each JPEG, no class list file."""
    root = reference / "real" / "detection" / "drowsiness"
    dataset = scan(root)
    assert dataset.class_names == ["awake", "drowsy"]
    on_disk = {split: {p.name for p in (root / split).glob("*.jpg")} for split in ("train", "validation")}
    assert {r.path.name for r in dataset.splits["val"]} == on_disk["validation"]
    # no test/ folder: the test split is carved out of train/, never out of validation/
    carved = {r.path.name for split in ("train", "test") for r in dataset.splits[split]}
    assert carved == on_disk["train"] and dataset.splits["test"]
    for record in dataset.splits["val"]:
        assert len(record.classes) == 1 and (record.boxes[:, 2:] > record.boxes[:, :2]).all()
    data = load_detection(root, "val", image_size=64, limit=4)
    assert data.images.shape == (4, 64, 64, 3)
    assert all(((b >= 0) & (b <= 64)).all() for b in data.boxes)  # 640 px boxes scaled to 64 px
