# Copyright (c) pst-mm contributors. All rights reserved.
"""Check COCO test-dev detections and zip them for the evaluation server.

    python tools/test.py CONFIG CKPT --test-dev --outfile-prefix out/pst
    python tools/misc/pack_coco_test_dev.py out/pst.bbox.json \
        --image-info data/coco/annotations/image_info_test-dev2017.json \
        --method pst-r50 --out-dir out/
"""
import argparse
import sys

from pst_mm.utils.coco_submission import SubmissionError, pack_submission


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('result', help='the *.bbox.json result file')
    parser.add_argument(
        '--image-info',
        required=True,
        help='image_info_test-dev2017.json of the split')
    parser.add_argument(
        '--method', required=True, help='method name in the file name')
    parser.add_argument('--out-dir', default='.', help='where the zip goes')
    parser.add_argument(
        '--split', default='test-dev2017', help='split name in the file name')
    parser.add_argument(
        '--overwrite', action='store_true', help='replace an existing zip')
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        stats = pack_submission(args.result, args.image_info, args.method,
                                args.out_dir, args.split, args.overwrite)
    except (SubmissionError, FileExistsError) as e:
        print(f'error: {e}', file=sys.stderr)
        sys.exit(1)
    print(f"{stats['num_detections']} detections on {stats['num_images']} "
          f"of {stats['num_images_total']} images -> {stats['zip']}")


if __name__ == '__main__':
    main()
