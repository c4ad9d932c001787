#!/usr/bin/env python3
"""Renders dataset slices for boxing lesions by hand, and boxes over slices for review. Writes PNGs to a scratch folder
(never into the repository: dataset images are not committed).

  render.py grid <image> <out.png>                    the slice at 512 px with a labelled 10% grid, for reading coordinates
  render.py sheet <out.png> <image>...                up to 16 slices as a 4x4 contact sheet, numbered, for choosing planes
  render.py review <boxes.csv> <data root> <out-prefix>   every box drawn over its slice, 12 per sheet (<out-prefix>-1.png, ...)
"""
import csv, sys
from PIL import Image, ImageDraw

SIZE = 512

def load(path, size=SIZE):
    return Image.open(path).convert('RGB').resize((size, size))

def grid(path, out):
    image = load(path)
    draw = ImageDraw.Draw(image)
    for k in range(1, 10):
        v = k * SIZE // 10
        colour = (255, 255, 0) if k == 5 else (0, 200, 255)
        draw.line([(v, 0), (v, SIZE)], fill=colour, width=1)
        draw.line([(0, v), (SIZE, v)], fill=colour, width=1)
        draw.text((v + 2, 2), f'{k / 10:.1f}', fill=(255, 255, 0))
        draw.text((2, v + 2), f'{k / 10:.1f}', fill=(255, 255, 0))
    image.save(out)

def sheet(out, paths):
    cell = 256
    canvas = Image.new('RGB', (4 * cell, 4 * cell))
    for i, path in enumerate(paths[:16]):
        canvas.paste(load(path, cell), ((i % 4) * cell, (i // 4) * cell))
        ImageDraw.Draw(canvas).text(((i % 4) * cell + 4, (i // 4) * cell + 4), str(i + 1), fill=(255, 255, 0))
    canvas.save(out)

def review(boxes, root, prefix):
    # Rows without a box (no visible lesion) have nothing to draw.
    rows = [row for row in csv.DictReader(open(boxes)) if row['x0']]
    cell = 320
    for start in range(0, len(rows), 12):
        canvas = Image.new('RGB', (4 * cell, 3 * cell))
        for i, row in enumerate(rows[start:start + 12]):
            image = load(f"{root}/{row['file']}", cell)
            draw = ImageDraw.Draw(image)
            x0, y0, x1, y1 = (float(row[k]) * cell for k in ('x0', 'y0', 'x1', 'y1'))
            draw.rectangle([x0, y0, x1, y1], outline=(255, 0, 0), width=2)
            draw.text((4, 4), f"{start + i + 1} {row['label'].split('_')[0]} {row['plane']}", fill=(255, 255, 0))
            canvas.paste(image, ((i % 4) * cell, (i // 4) * cell))
        canvas.save(f'{prefix}-{start // 12 + 1}.png')

if __name__ == '__main__':
    command = sys.argv[1]
    if command == 'grid': grid(sys.argv[2], sys.argv[3])
    elif command == 'sheet': sheet(sys.argv[2], sys.argv[3:])
    elif command == 'review': review(sys.argv[2], sys.argv[3], sys.argv[4])
    else: sys.exit(__doc__)
