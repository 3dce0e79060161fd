"""Plotly figure builders: pure functions, numbers in, go.Figure out. One builder per picture.

bce      -- the BCE curves, the generator-loss saturation plot, the optimal discriminator
toy      -- the 1-D GAN: densities with fakes and arrows, D vs D*, the z -> x map, histories
mnist    -- training loss curves, sample grids (torchvision's make_grid), latent interpolation
compare  -- VAE vs GAN: the same metrics side by side, digit shares, stroke brightness
failures -- the ring of modes with G's samples, one number's history for a failing run and its fixes
style    -- the course's colours and shared layout
"""
