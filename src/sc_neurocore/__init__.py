"""sc_neurocore: spiking-neural-network tooling. See :mod:`sc_neurocore.transfer`."""
