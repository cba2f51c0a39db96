"""Generator: a digit (and a seed) -> new 8x8 images of that digit, drawn by a conditional GAN."""
