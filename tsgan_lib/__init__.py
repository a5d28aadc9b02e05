"""tsgan_lib: the library behind the TS-GAN teaching and reproduction suite.

TS-GAN (Zhang et al., "RGB-IR Cross-modality Person ReID based on
Teacher-Student GAN Model") trains a ReID backbone on real RGB, real IR and
fake IR images, guided by a frozen IR teacher and a CycleGAN whose IR
discriminator judges (image, feature map) pairs.

The package map, in layers. Every import points down (a module imports its
own layer or one below it, never one above), and no import runs in a circle
(``tests/test_layers.py`` reads every import and checks both)::

    cli, __main__       the command line: train, evaluate, ablation, search, verify
      |
    report              a run from start to results (runs), results.json, the loss curves,
      |                 the ablation and its verdict, the readings, the notebooks' figures,
      |                 the explorer, searching your own images, one vocabulary of names
    train               Algorithm 1's steps, the configuration, the one fit loop and its hooks
      |                 (checkpoints, log, progress, stop), the IR teacher, the run, the probes, DDP
    files               every file the project writes: atomic saves, weights-only loads,
      |                 network records, a run's folder and its files' names, the run lock
    losses | models | eval
      |                 losses: every equation (1)-(16) of the paper, once;
      |                 models: backbone (FE + LE), IR teacher, generators G_I / G_R,
      |                 discriminators D_I (joint) / D_R;
      |                 eval: the SYSU-MM01, RegDB and LLCM protocols, metrics and their
      |                 readable references, re-ranking, chance levels, Table III's
      |                 single-modality retrieval, the modality gap, the paper's tables
    data                records, the SYSU-MM01 / RegDB / LLCM readers, the synthetic
      |                 stand-ins, transforms, the sampler, the batches a fit loop drives,
      |                 the tensor pipeline, checking a dataset copy
    errors, ranges, paths, utils
                        the foundation: user errors and exit codes, each setting's range,
                        the repository's paths, devices and seeds

The sub-packages follow the paper's Fig. 3: data in, the networks and their
losses, Algorithm 1, the test. Nothing here does I/O at import time.
"""

__version__ = "0.1.0"
