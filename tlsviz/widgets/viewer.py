"""Path viewer: the minimum → saddle → minimum path in nglview, coloured by displacement."""

from __future__ import annotations

import ipywidgets as w
import matplotlib
import mdtraj
import nglview
import numpy as np
from nglview.color import ColormakerRegistry

from .player import NGLView, PathPlayer

RADIUS = {0: 5.0, 1: 4.4}  # Å in NGL units (σ = 1 nm): half of σ_AA and σ_BB
CMAP = "viridis"


def topology(types) -> mdtraj.Topology:
    """One residue per particle: LJA/LJB, atom names A/B (any element: NGL only needs one)."""
    top = mdtraj.Topology()
    chain = top.add_chain()
    for t in types:
        res = top.add_residue("LJA" if t == 0 else "LJB", chain)
        top.add_atom("A" if t == 0 else "B", mdtraj.element.argon if t == 0 else mdtraj.element.neon, res)
    return top


def colours(values, vmax=None, bins=16) -> list[str]:
    """Hex colours of values on the colour map, 0 → vmax (default: the largest value)."""
    vmax = float(np.max(values)) if vmax is None else vmax
    cmap = matplotlib.colormaps[CMAP]
    level = np.clip(np.asarray(values) / (vmax or 1.0), 0, 1)
    level = np.round(level * (bins - 1)) / (bins - 1)
    return [matplotlib.colors.to_hex(cmap(v)) for v in level]


def colour_bar(vmax: float, label: str = "|d_i| (σ)") -> str:
    cmap = matplotlib.colormaps[CMAP]
    stops = ", ".join(matplotlib.colors.to_hex(cmap(v)) for v in np.linspace(0, 1, 9))
    return (f"<div style='display:flex;align-items:center;gap:6px;font-size:12px'>{label} 0"
            f"<div style='width:160px;height:12px;background:linear-gradient(to right, {stops})'></div>"
            f"{vmax:.3f}</div>")


class PathViewer(w.VBox):
    """Shows ``model.selected_dwp``: frames, per-particle colours, the box, the central particle."""

    def __init__(self, model):
        self.model = model
        self.frames = np.zeros((0, model.system.n_particles, 3))
        self.colors: list[str] = []
        self.central = -1
        # the view fills its column's width (NGL resizes the canvas with it); the player sits below
        self.view = NGLView(width="100%", height="360px", layout=w.Layout(width="100%", min_width="0"))
        self.player = PathPlayer(self.view)
        self.fade = w.Checkbox(value=False, description="fade particles that barely move")
        self.arrows = w.Checkbox(value=False, description="displacement arrows")
        self.scale = w.HTML()
        self.caption = w.HTML("<i>select a DWP</i>")
        super().__init__([w.HTML("<b>Path</b>"), self.caption, self.view, self.player, self.scale,
                          w.HBox([self.fade, self.arrows], layout=w.Layout(flex_flow="row wrap"))],
                         layout=w.Layout(width="100%", min_width="0"))
        model.observe(lambda _: self.show(), "selected_dwp")
        self.fade.observe(lambda _: self.show(), "value")
        self.arrows.observe(lambda _: self.show(), "value")

    def show(self):
        key = self.model.selected_dwp
        if not key:
            return
        src = self.model.dwp(key)
        row = self.model.table.set_index("key").loc[key]
        types = self.model.system.types
        amp = np.linalg.norm(src.displacements, axis=1)
        self.frames = src.path
        self.central = int(np.argmax(amp))
        self.colors = colours(amp)
        box = self.model.system.box
        traj = mdtraj.Trajectory(self.frames, topology(types), unitcell_lengths=np.full((len(self.frames), 3), box),
                                 unitcell_angles=np.full((len(self.frames), 3), 90.0))
        for comp in list(self.view._ngl_component_ids):
            self.view.remove_component(comp)
        self.view.add_trajectory(traj, default_representation=False)
        scheme = f"tlsviz_{key}_{int(self.fade.value)}"
        ColormakerRegistry.add_selection_scheme(
            scheme, [[c, "@" + ",".join(str(i) for i in np.flatnonzero(np.array(self.colors) == c))]
                     for c in sorted(set(self.colors))])
        faded = amp < 0.1 * amp.max() if self.fade.value else np.zeros(len(amp), bool)
        for t, radius in RADIUS.items():
            for fade in (False, True):
                sel = np.flatnonzero((types == t) & (faded == fade))
                if len(sel):
                    self.view.add_representation("spacefill", selection="@" + ",".join(map(str, sel)),
                                                 radius=radius, color=scheme, opacity=0.15 if fade else 1.0)
        self.view.add_representation("spacefill", selection=f"@{self.central}", radius=RADIUS[types[self.central]] * 1.35,
                                     color="#e6194b", opacity=0.35)
        self.view.add_representation("unitcell")
        if self.arrows.value:
            top = np.argsort(amp)[::-1][:10]
            x0, x1 = self.frames[0] * 10, self.frames[-1] * 10
            for i in top:
                self.view.shape.add_arrow(list(x0[i]), list(x1[i]), [0.9, 0.1, 0.1], 1.0)
        self.view.center()
        self.view.frame = len(self.frames) // 2
        self.scale.value = colour_bar(float(amp.max()))
        self.caption.value = (f"{key}: IS {int(row.is_id)}, Δ = {row.asymmetry:.4f} ε, V = {row.barrier:.4f} ε, "
                              f"central {row.central_type} particle {self.central} (red halo)")
