"""The report as text and as JSON: the numbers a person reads and a script parses, from generated logs with known answers."""

from __future__ import annotations

from monitor.report.runs import read_logs
from monitor.report.statistics import summarise
from monitor.report.text import format_summary, summary_json
from tests.helpers import write_labels


def test_pictures_beside_a_video_count_their_own_faces(tmp_path):
    """Issue 36.2: the photo log alone says 1 / 1 / 1; beside a video (sad throughout) it must say the same."""
    photos = write_labels(tmp_path / "photos.csv", ["happy", "neutral", "sad"], source="p{}.jpg")
    video = write_labels(tmp_path / "video.csv", ["sad"] * 70 + [None] * 10)
    summaries = [summarise(read_logs(logs).rows) for logs in ([photos], [photos, video])]
    for s in summaries:
        assert "pictures    3, with a face 3; faces per label: happy 1, neutral 1, sad 1" in format_summary(s, [])
    assert [summary_json(s)["picture_faces"] for s in summaries] == [{"happy": 1, "neutral": 1, "sad": 1}] * 2


def test_json_has_every_class_and_the_numbers_the_text_shows(tmp_path):
    """Issue 36.12: `share` has every class of the model (the log's p_ columns), 0 when never shown; faces and buckets too."""
    log = write_labels(tmp_path / "a.csv", ["happy"] * 30 + ["sad"] * 10 + [None] * 10)
    logs = read_logs([log])
    r = summary_json(summarise(logs.rows, "1s", logs.runs))
    assert r["classes"] == ["happy", "neutral", "sad"]
    assert r["share"] == {"happy": 0.75, "neutral": 0.0, "sad": 0.25} and r["runs"][0]["share"] == r["share"]
    assert [(b["at_s"], b["frames"], b["share"]["happy"], b["share"]["neutral"], b["no_face"]) for b in r["buckets"]] == [
        (0.0, 10, 1.0, 0.0, 0.0),
        (1.0, 10, 1.0, 0.0, 0.0),
        (2.0, 10, 1.0, 0.0, 0.0),
        (3.0, 10, 0.0, 0.0, 0.0),
        (4.0, 10, 0.0, 0.0, 1.0),
    ]
    assert r["faces"] == [{"face": "1", "frames": 40, "seconds": 3.9, "share": {"happy": 0.75, "neutral": 0.0, "sad": 0.25}, "mean_confidence": 0.8}]
    assert [(x["label"], x["seconds"]) for x in r["longest"]] == [("happy", 2.9), ("sad", 0.9)]
    assert r["span"]["seconds"] == 4.9
    none = read_logs([write_labels(tmp_path / "none.csv", [None] * 10)])
    r = summary_json(summarise(none.rows, None, none.runs))
    assert r["share"] == {"happy": 0.0, "neutral": 0.0, "sad": 0.0} and r["faces"] == [] and r["buckets"][0]["no_face"] == 1.0
