"""tsgan_lib: the library behind the TS-GAN teaching and reproduction suite.

TS-GAN (Zhang et al., "RGB-IR Cross-modality Person ReID based on
Teacher-Student GAN Model") trains a ReID backbone on real RGB, real IR and
fake IR images, guided by a frozen IR teacher and a CycleGAN whose IR
discriminator judges (image, feature map) pairs.

Sub-packages follow the paper's Fig. 3:

- ``tsgan_lib.data``   -- SYSU-MM01 / RegDB readers, the synthetic stand-in,
  transforms and the cross-modality identity sampler.
- ``tsgan_lib.models`` -- backbone (FE + LE), IR teacher, generators G_I / G_R,
  discriminators D_I (joint) / D_R.
- ``tsgan_lib.losses`` -- every equation (1)-(16) of the paper, once.
- ``tsgan_lib.eval``   -- the official SYSU-MM01 protocol, RegDB, re-ranking,
  results tables and ranked-list figures.

Nothing here does I/O at import time.
"""

__version__ = "0.1.0"
