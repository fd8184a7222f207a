"""Give a model file made before shape priors existed the prior of the faces it was
trained on, built from a data folder you name, so that corrections in the app move the
other points and `uglli predict --fuse-prior` can fuse.

    python scripts/add_shape_prior.py --data DATA [--split SPLIT.json] [--model M.pt] [--out PATH]

DATA is read as `uglli train --data` reads it (a MANIFEST.csv, a folder holding one, or a
folder of images with .pts files); with --split, the faces that split file holds out
(its validation and excluded faces) are left out, as training left them out. For the
bundled model's first versions: --data ../shared/datasets/300w --split resources/val_split.json.

Models trained or fine-tuned now carry a prior of their own training faces already.
"""
from __future__ import annotations

import argparse
import sys

from uglli_core.files.records import read_records
from uglli_core.files.splits import apply_split
from uglli_core.nets.checkpoint import BUNDLED_MODEL, export_model, load_checkpoint
from uglli_core.prior.model_prior import PRIOR_FIELD, training_prior_field


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="the annotated faces the model was trained on")
    parser.add_argument("--split", help="leave out the faces this split file holds out (a JSON of face keys)")
    parser.add_argument("--model", default=str(BUNDLED_MODEL), help="model file (default: the bundled model)")
    parser.add_argument("--out", help="where to write the result (default: replace the model file)")
    args = parser.parse_args(argv)
    try:
        return add_prior(args)
    except (ValueError, OSError) as exc:   # a model file, data folder or split file that cannot be used
        print(f"add_shape_prior: {exc}", file=sys.stderr)
        return 2


def add_prior(args) -> int:
    checkpoint = load_checkpoint(args.model)
    if checkpoint.get(PRIOR_FIELD) is not None:
        print(f"{args.model} has a shape prior already: left as it is")
        return 0
    records = read_records(args.data)
    if args.split:
        records = apply_split(records, args.split)[0]
    field = training_prior_field(records)
    export_model({k: v for k, v in checkpoint.items() if k != PRIOR_FIELD}, args.out or args.model,
                 **{PRIOR_FIELD: field})
    print(f"wrote {args.out or args.model}: shape prior of {field['faces']} faces of {args.data} "
          "and their mirror images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
