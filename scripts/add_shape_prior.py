"""Give a model file made before shape priors existed the prior of the shared training
split (the 300-W manifest less resources/val_split.json), so that corrections in the
app move the other points without the training data at hand.

    python scripts/add_shape_prior.py [--model resources/uglli_default.pt] [--out PATH]

Models trained or fine-tuned now carry a prior of their own training faces already.
"""
from __future__ import annotations

import argparse

from uglli_core.checkpoint import BUNDLED_MODEL, export_model, load_checkpoint
from uglli_core.model_prior import PRIOR_FIELD, prior_field, training_split_prior


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(BUNDLED_MODEL), help="model file (default: the bundled model)")
    parser.add_argument("--out", help="where to write the result (default: replace the model file)")
    args = parser.parse_args()
    checkpoint = load_checkpoint(args.model)
    if checkpoint.get(PRIOR_FIELD) is not None:
        print(f"{args.model} has a shape prior already: left as it is")
        return
    prior = training_split_prior()
    export_model({k: v for k, v in checkpoint.items() if k != PRIOR_FIELD}, args.out or args.model,
                 **{PRIOR_FIELD: prior_field(prior)})
    print(f"wrote {args.out or args.model}: shape prior of {prior.faces} training faces and their mirror images")


if __name__ == "__main__":
    main()
