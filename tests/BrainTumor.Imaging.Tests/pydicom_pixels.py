"""Prints what pydicom decodes from a DICOM file, as JSON, for DicomTests to compare with our reader.

Usage: python3 pydicom_pixels.py FILE FRAME   (FRAME is 1-based)
Monochrome: the modality values (Rescale Slope and Intercept applied). Colour: RGB samples (YBR converted to RGB).
"""
import json
import sys

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut, convert_color_space

dataset = pydicom.dcmread(sys.argv[1])
frame = int(sys.argv[2])
pixels = dataset.pixel_array
frames = int(dataset.get("NumberOfFrames", 1) or 1)
if frames > 1:
    pixels = pixels[frame - 1]
photometric = dataset.PhotometricInterpretation
if dataset.SamplesPerPixel == 1:
    values = apply_modality_lut(pixels, dataset).astype(np.float64)
else:
    values = pixels
    if photometric.startswith("YBR_FULL") and dataset.file_meta.TransferSyntaxUID in ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1",
                                                                                      "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2",
                                                                                      "1.2.840.10008.1.2.5"):
        values = convert_color_space(values, photometric, "RGB")
json.dump({"shape": list(values.shape), "values": [float(v) for v in np.asarray(values).ravel()]}, sys.stdout)
