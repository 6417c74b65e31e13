import pytest

from edgevision.errors import UserError
from edgevision.runtime.labels import align_labels, detection_labels, parse_labels, read_labels


def test_plain_lines_with_and_without_background_line_up_with_1001_outputs():
    plain = parse_labels("tench\ngoldfish\nshark\n\n")
    assert plain == ["tench", "goldfish", "shark"]
    assert align_labels(plain, 4) == ["background", "tench", "goldfish", "shark"]
    with_bg = parse_labels("background\ntench\ngoldfish\nshark\n")
    assert align_labels(with_bg, 4) == ["background", "tench", "goldfish", "shark"]
    assert align_labels(with_bg, 3) == ["tench", "goldfish", "shark"]  # 1000-output model, 1001-line file


def test_index_label_form_with_gaps_and_separators():
    labels = parse_labels("0  person\n1: bicycle\n3,motorcycle\n")
    assert labels == ["person", "bicycle", "2", "motorcycle"]
    assert detection_labels(labels) == labels
    assert detection_labels(parse_labels("0 background\n1 person\n2 cat")) == ["person", "cat"]


def test_labels_that_start_with_digits_are_not_taken_for_indices():
    assert parse_labels("3D glasses\n7 up\n") == ["3D glasses", "7 up"]


def test_mismatched_length_pads_with_indices_instead_of_shifting():
    assert align_labels(["a", "b"], 4) == ["a", "b", "2", "3"]


def test_bad_label_files(tmp_path):
    with pytest.raises(UserError, match="no such label file"):
        read_labels(tmp_path / "none.txt")
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(UserError, match="empty.txt holds no labels"):
        read_labels(tmp_path / "empty.txt")
    (tmp_path / "twice.txt").write_text("1 a\n1 b\n")
    with pytest.raises(UserError, match="twice"):
        read_labels(tmp_path / "twice.txt")


PETS_MAP = """
item {
  id: 1
  name: 'Abyssinian'
}

item {
  id: 2
  name: 'american_bulldog'
}
"""


def test_tf_object_detection_api_label_map_ids_from_1_background_implicit():
    labels = parse_labels(PETS_MAP, "pet_label_map.pbtxt")
    assert labels == ["background", "Abyssinian", "american_bulldog"]
    assert detection_labels(labels)[0] == "Abyssinian"  # the model's class 0 is the map's id 1


def test_label_map_prefers_display_name_and_fills_gaps_with_the_id():
    coco = """item {\n  name: "/m/01g317"\n  id: 1\n  display_name: "person"\n}
    item { name: "/m/0k4j" id: 3 display_name: "car" keypoints { id: 0 label: "wheel" } }  # a comment { }
    """
    assert detection_labels(parse_labels(coco)) == ["person", "2", "car"]


def test_label_map_with_an_explicit_id_0_keeps_it():
    assert parse_labels("item { id: 0 name: 'none' } item { id: 1 name: 'cat' }") == ["none", "cat"]


def test_broken_label_maps(tmp_path):
    with pytest.raises(UserError, match="lacks an id or a name"):
        parse_labels("item { id: 1 }", "map.pbtxt")
    with pytest.raises(UserError, match="id 1 twice"):
        parse_labels("item { id: 1 name: 'a' } item { id: 1 name: 'b' }", "map.pbtxt")
    with pytest.raises(UserError, match="never closed"):
        parse_labels("item { id: 1 name: 'a' ", "map.pbtxt")
