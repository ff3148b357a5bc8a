"""Custom Classifier: train and serve document classifiers from folders of labeled documents."""

__version__ = "0.1.0"
