"""Plotly figure builders: pure functions, numbers in, go.Figure out. One builder per picture.

bce      -- the BCE curves, the generator-loss saturation plot, the optimal discriminator
toy      -- the 1-D GAN: densities with fakes and arrows, D vs D*, the z -> x map, histories
mnist    -- training loss curves, sample grids (torchvision's make_grid), interpolation rows,
            reconstructions
compare  -- VAE vs GAN: the metrics table and bars side by side, digit shares, stroke brightness
failures -- the ring of modes with G's samples, one number's history for a failing run and its fixes
latent   -- latent space: numbered sample grids, the equation of pictures, a cGAN's styles as every digit
style    -- the course's colours and shared layout

Figures import the core (records, read-outs, samples) but never the job manager or the ui.
"""
