"""cnngrade: read, judge and report on submissions of the build-a-CNN-from-its-layers assignment."""
__version__ = "0.1.0"
