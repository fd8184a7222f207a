"""The dialogs: export, fine-tuning, model versions, keyboard shortcuts."""
