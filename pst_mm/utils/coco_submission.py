# Copyright (c) pst-mm contributors. All rights reserved.
"""Check a COCO detection result file and pack it for the evaluation server.

The server wants a zip holding ``detections_test-dev2017_<method>_results
.json``: a list of ``{image_id, category_id, bbox: [x, y, w, h], score}``.
"""
import json
import math
import os
import os.path as osp
import re
import zipfile
from collections import Counter
from typing import Dict, List

MAX_DETS_PER_IMAGE = 100


class SubmissionError(ValueError):
    """A result file the COCO server would reject or misread."""


def _load_json(path: str, what: str):
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except FileNotFoundError:
        raise SubmissionError(f'{what} not found: {path}') from None
    except json.JSONDecodeError as e:
        raise SubmissionError(f'{what} {path} is not valid JSON: {e}') \
            from None


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_detections(results: list, image_info: dict) -> Dict[str, int]:
    """Validate detections against an image-info file.

    Args:
        results (list): Parsed result JSON.
        image_info (dict): Parsed image info (``images`` and
            ``categories``), e.g. ``image_info_test-dev2017.json``.

    Returns:
        dict[str, int]: ``num_detections``, ``num_images`` (with at least
        one detection) and ``num_images_total``.

    Raises:
        SubmissionError: On the first bad entry, naming it.
    """
    if not isinstance(image_info, dict) or 'images' not in image_info \
            or 'categories' not in image_info:
        raise SubmissionError(
            'image info must be a COCO dict with "images" and "categories"')
    image_ids = {img['id'] for img in image_info['images']}
    cat_ids = {cat['id'] for cat in image_info['categories']}
    if not isinstance(results, list):
        raise SubmissionError(
            f'results must be a JSON list of detections, got '
            f'{type(results).__name__}')
    if not results:
        raise SubmissionError('results hold no detection')
    per_image: Counter = Counter()
    for i, det in enumerate(results):
        where = f'entry {i} ({json.dumps(det)[:200]})'
        if not isinstance(det, dict):
            raise SubmissionError(f'{where}: not an object')
        missing = {'image_id', 'category_id', 'bbox', 'score'} - set(det)
        if missing:
            raise SubmissionError(f'{where}: missing {sorted(missing)}')
        if not isinstance(det['image_id'], int) or \
                det['image_id'] not in image_ids:
            raise SubmissionError(
                f'{where}: image_id {det["image_id"]!r} is not in the image '
                f'info')
        if not isinstance(det['category_id'], int) or \
                det['category_id'] not in cat_ids:
            raise SubmissionError(
                f'{where}: category_id {det["category_id"]!r} is not a valid '
                f'category id ({min(cat_ids)}..{max(cat_ids)}, with gaps for '
                f'COCO)')
        bbox = det['bbox']
        if not isinstance(bbox, list) or len(bbox) != 4 or \
                not all(_is_number(v) and math.isfinite(v) for v in bbox):
            raise SubmissionError(
                f'{where}: bbox must be 4 finite numbers [x, y, w, h]')
        if bbox[2] < 0 or bbox[3] < 0:
            raise SubmissionError(
                f'{where}: bbox width/height is negative; boxes must be '
                f'[x, y, w, h], not [x1, y1, x2, y2]')
        if not _is_number(det['score']) or not math.isfinite(det['score']):
            raise SubmissionError(f'{where}: score must be a finite number')
        per_image[det['image_id']] += 1
        if per_image[det['image_id']] > MAX_DETS_PER_IMAGE:
            raise SubmissionError(
                f'{where}: image {det["image_id"]} has more than '
                f'{MAX_DETS_PER_IMAGE} detections')
    return dict(
        num_detections=len(results),
        num_images=len(per_image),
        num_images_total=len(image_ids))


def pack_submission(result_file: str,
                    image_info_file: str,
                    method: str,
                    out_dir: str,
                    split: str = 'test-dev2017',
                    overwrite: bool = False) -> Dict[str, object]:
    """Check ``result_file`` and write the zip the COCO server expects.

    Args:
        result_file (str): ``*.bbox.json`` from ``tools/test.py --test-dev``.
        image_info_file (str): The split's image info file.
        method (str): Method name in the file name (letters, digits, '-').
        out_dir (str): Folder for the zip.
        split (str): Split name in the file name. Defaults to 'test-dev2017'.
        overwrite (bool): Replace an existing zip. Defaults to False.

    Returns:
        dict: The :func:`check_detections` counts and ``zip``, the path of
        the written zip.
    """
    if not re.fullmatch(r'[A-Za-z0-9][A-Za-z0-9-]*', method):
        raise SubmissionError(
            f'method name {method!r} may hold only letters, digits and "-" '
            f'(it becomes part of the file name)')
    results = _load_json(result_file, 'result file')
    image_info = _load_json(image_info_file, 'image info file')
    stats = check_detections(results, image_info)
    name = f'detections_{split}_{method}_results'
    zip_path = osp.join(out_dir, name + '.zip')
    if osp.exists(zip_path) and not overwrite:
        raise FileExistsError(
            f'{zip_path} exists; pass --overwrite to replace it')
    os.makedirs(out_dir, exist_ok=True)
    with zipfile.ZipFile(zip_path, 'w', zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name + '.json', json.dumps(results))
    stats['zip'] = zip_path
    return stats


__all__: List[str] = [
    'SubmissionError', 'check_detections', 'pack_submission',
    'MAX_DETS_PER_IMAGE'
]
