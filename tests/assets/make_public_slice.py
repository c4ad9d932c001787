"""Renders pydicom's public MR_small.dcm as the 512x512 greyscale JPEG the tests upload (tests/assets/README.md)."""
import sys

import numpy
import pydicom
from PIL import Image

source = "/usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small.dcm"
target = sys.argv[1]

pixels = pydicom.dcmread(source).pixel_array.astype(numpy.float64)
# Stretched from the slice's own minimum to its maximum: MR values have no fixed scale.
grey = numpy.round((pixels - pixels.min()) / (pixels.max() - pixels.min()) * 255).astype(numpy.uint8)
Image.fromarray(grey, mode="L").resize((512, 512), Image.BICUBIC).save(target, quality=90)
