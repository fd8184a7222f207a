"""Work that runs off the GUI thread (Qt objects, no widgets): prediction, fine-tuning and the
choice of model, opening a folder."""
