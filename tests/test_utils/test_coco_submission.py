# Copyright (c) pst-mm contributors. All rights reserved.
import json
import zipfile

import pytest

from pst_mm.utils.coco_submission import (SubmissionError, check_detections,
                                          pack_submission)

INFO = dict(
    images=[dict(id=1), dict(id=2), dict(id=5)],
    categories=[dict(id=1, name='person'),
                dict(id=3, name='car'),
                dict(id=90, name='toothbrush')])


def _det(**kw):
    det = dict(image_id=1, category_id=3, bbox=[1.0, 2.0, 3.0, 4.0],
               score=0.9)
    det.update(kw)
    return det


def test_valid_results_counted():
    stats = check_detections([_det(), _det(image_id=5, category_id=90)],
                             INFO)
    assert stats == dict(num_detections=2, num_images=2, num_images_total=3)


@pytest.mark.parametrize('bad, match', [
    (_det(image_id=3), 'entry 1 .*image_id 3 is not in the image info'),
    (_det(category_id=2), 'entry 1 .*category_id 2 is not a valid'),
    (_det(category_id=0), 'category_id 0'),
    (_det(bbox=[1, 2, 3]), 'entry 1 .*4 finite numbers'),
    (_det(bbox=[1, 2, float('nan'), 4]), '4 finite numbers'),
    (_det(bbox=[10, 10, 5, -2]), r'negative; boxes must be \[x, y, w, h\]'),
    (_det(score=float('inf')), 'score must be a finite'),
    (_det(score='0.5'), 'score must be a finite'),
    ({'image_id': 1, 'bbox': [0, 0, 1, 1]}, r"missing \['category_id', "
     r"'score'\]"),
    ([1, 2], 'entry 1 .*not an object'),
])
def test_first_bad_entry_is_named(bad, match):
    with pytest.raises(SubmissionError, match=match):
        check_detections([_det(), bad, _det(image_id=99)], INFO)


def test_more_than_100_per_image():
    dets = [_det() for _ in range(101)]
    with pytest.raises(SubmissionError, match='entry 100 .*more than 100'):
        check_detections(dets, INFO)


def test_not_a_list_and_empty():
    with pytest.raises(SubmissionError, match='JSON list'):
        check_detections({'image_id': 1}, INFO)
    with pytest.raises(SubmissionError, match='no detection'):
        check_detections([], INFO)


def test_pack_writes_server_layout(tmp_path):
    res = tmp_path / 'r.bbox.json'
    info = tmp_path / 'info.json'
    res.write_text(json.dumps([_det()]))
    info.write_text(json.dumps(INFO))
    stats = pack_submission(str(res), str(info), 'pst-r50', str(tmp_path))
    with zipfile.ZipFile(stats['zip']) as zf:
        assert zf.namelist() == ['detections_test-dev2017_pst-r50_results'
                                 '.json']
    with pytest.raises(FileExistsError, match='--overwrite'):
        pack_submission(str(res), str(info), 'pst-r50', str(tmp_path))
    pack_submission(str(res), str(info), 'pst-r50', str(tmp_path),
                    overwrite=True)


def test_pack_rejects_corrupt_files_and_bad_names(tmp_path):
    info = tmp_path / 'info.json'
    info.write_text(json.dumps(INFO))
    broken = tmp_path / 'broken.json'
    broken.write_text('[{"image_id": 1,')
    with pytest.raises(SubmissionError, match='not valid JSON'):
        pack_submission(str(broken), str(info), 'x', str(tmp_path))
    with pytest.raises(SubmissionError, match='not found'):
        pack_submission(str(tmp_path / 'nope.json'), str(info), 'x',
                        str(tmp_path))
    with pytest.raises(SubmissionError, match='method name'):
        pack_submission(str(broken), str(info), 'my method/1', str(tmp_path))
