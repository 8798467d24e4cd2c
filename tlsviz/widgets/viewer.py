"""Path viewer: the minimum → saddle → minimum path in nglview, drawn around its central particle
and coloured by displacement.

Large systems (N = 2000) are not drawn whole: 2000 spheres hide the central particle and most
of them do not move. The viewer draws the central particle's neighbourhood (every particle
within ``radius`` of it at the saddle, :data:`NEIGHBOURHOOD` σ by default) and every particle
that moves at least ``fraction`` of the largest displacement (:data:`MOVER_FRACTION`), wherever
it is (:func:`drawn_particles`); both are widgets of the panel. A box small enough that this
sphere reaches all its faces (L ≤ 2 × :data:`NEIGHBOURHOOD`, N ≤ 259 at the KA density: the
published N = 65, 130 and 2 × 65 systems) is drawn whole by default.
"""

from __future__ import annotations

import ipywidgets as w
import matplotlib
import mdtraj
import nglview
import numpy as np

from .player import NGLView, PathPlayer

RADIUS = {0: 5.0, 1: 4.4}  # Å in NGL units (σ = 1 nm): half of σ_AA and σ_BB
CMAP = "viridis"
HALO = "#e6194b"
#: Default radius (σ) of the neighbourhood drawn around the central particle: the first two
#: neighbour shells of the glass and part of the third (~140 particles at the KA density 1.2).
NEIGHBOURHOOD = 3.0
#: Default fraction of the largest displacement from which a particle is a "mover": drawn
#: wherever it is, and less see-through than the particles that barely move.
MOVER_FRACTION = 0.1
#: Opacity of the other particles when "see-through" is on: the movers (≥ ``fraction`` of the
#: central particle's displacement) and those that barely move; periodic images.
OPACITY_MOVING, OPACITY_STILL, OPACITY_IMAGE = 0.5, 0.18, 0.12
#: Length (σ) of the longest displacement arrow: displacements of a DWP are 0.05–1 σ, shorter
#: than a particle's radius (0.44–0.5 σ), so drawn to scale an arrow hides inside its sphere.
ARROW_LENGTH = 1.5
#: Messages of nglview's archive that belong to the shown components (replayed by a re-rendered
#: front end, e.g. after a browser reload): dropped with the components they belong to.
_COMPONENT_CALLS = {"loadFile", "addShape", "removeComponent"}


def topology(types, numbers=None) -> mdtraj.Topology:
    """One residue per particle: LJA/LJB, atom names A/B (any element: NGL only needs one).
    ``numbers``: the residue numbers (default 0, 1, …), e.g. the particles' indices in the system
    when only some are drawn, so that NGL's hover label names the particle."""
    top = mdtraj.Topology()
    chain = top.add_chain()
    numbers = range(len(types)) if numbers is None else numbers
    for t, k in zip(types, numbers):
        res = top.add_residue("LJA" if t == 0 else "LJB", chain, resSeq=int(k))
        top.add_atom("A" if t == 0 else "B", mdtraj.element.argon if t == 0 else mdtraj.element.neon, res)
    return top


def colours(values, vmax=None, bins=16) -> list[str]:
    """Hex colours of values on the colour map, 0 → vmax (default: the largest value)."""
    vmax = float(np.max(values)) if vmax is None else vmax
    cmap = matplotlib.colormaps[CMAP]
    level = np.clip(np.asarray(values, dtype=float) / (vmax or 1.0), 0, 1)
    palette = [matplotlib.colors.to_hex(cmap(k / (bins - 1))) for k in range(bins)]
    return [palette[k] for k in np.round(level * (bins - 1)).astype(int)]


def colour_bar(vmax: float, label: str = "|d_i| (σ)") -> str:
    cmap = matplotlib.colormaps[CMAP]
    stops = ", ".join(matplotlib.colors.to_hex(cmap(v)) for v in np.linspace(0, 1, 9))
    return (f"<div style='display:flex;align-items:center;gap:6px;font-size:12px;flex-wrap:wrap'>{label} 0"
            f"<div style='width:160px;max-width:40%;height:12px;background:linear-gradient(to right, {stops})'>"
            f"</div>{vmax:.3f}</div>")


def centred_frames(path, central: int, box: float) -> np.ndarray:
    """The frames (F, N, 3) of a path as drawn: each particle's path made continuous (steps by
    the minimum image), all shifted so that the central particle sits at the centre of the box
    at the saddle (the middle frame), and each particle moved by a whole box vector so that it
    lies in the box at the saddle. So nothing jumps, and a particle lies outside the box at
    another frame by at most its own displacement from the saddle."""
    x = np.array(path, dtype=float)
    steps = np.diff(x, axis=0)
    steps -= box * np.rint(steps / box)
    x = x[0] + np.concatenate([np.zeros_like(x[:1]), np.cumsum(steps, axis=0)])
    s = len(x) // 2
    x += box / 2 - x[s, central]
    x -= box * np.floor(x[s] / box)[None]
    return x


def periodic_images(positions, box: float, reach: float):
    """(index (M,), shift (M, 3)): the periodic images, other than the particles themselves, of
    positions (N, 3) in the box that lie within ``reach`` of its faces (outside it)."""
    idx, shifts = [], []
    for shift in np.stack(np.meshgrid(*[[-1, 0, 1]] * 3, indexing="ij"), -1).reshape(-1, 3):
        if not shift.any():
            continue
        y = positions + shift * box
        ok = np.all((y > -reach) & (y < box + reach), axis=1)
        idx.extend(np.flatnonzero(ok))
        shifts.extend([shift * box] * int(ok.sum()))
    return np.array(idx, dtype=int), np.array(shifts, dtype=float).reshape(-1, 3)


def whole_box_radius(box: float) -> float:
    """The largest minimum-image distance in a cubic box of edge ``box``: half its diagonal. A
    neighbourhood this wide holds every particle."""
    return float(np.sqrt(3.0) * box / 2)


def default_radius(box: float) -> float:
    """The radius drawn by default: :data:`NEIGHBOURHOOD`, or the whole box
    (:func:`whole_box_radius`) when a sphere of that radius already reaches every face of the box
    (box ≤ 2 × :data:`NEIGHBOURHOOD`): there the neighbourhood is nearly the whole box anyway."""
    return whole_box_radius(box) if box <= 2 * NEIGHBOURHOOD else NEIGHBOURHOOD


def drawn_particles(positions, amplitudes, central: int, box: float, radius: float,
                    fraction: float = MOVER_FRACTION) -> np.ndarray:
    """The particles drawn for a DWP, as sorted indices: the central particle, every particle
    within ``radius`` (σ) of it in ``positions`` (N, 3; minimum image in the cubic box of edge
    ``box``), and every particle whose displacement amplitude (``amplitudes``, N) is at least
    ``fraction`` of the largest, wherever it is. ``radius`` ≥ :func:`whole_box_radius` draws
    every particle, 0 the central particle and the movers only; ``fraction`` 0 draws every
    particle, 1 only those that move as much as the central particle."""
    x = np.asarray(positions, dtype=float)
    amp = np.asarray(amplitudes, dtype=float)
    if x.ndim != 2 or x.shape[1] != 3 or amp.shape != (len(x),):
        raise ValueError(f"positions must be (N, 3) and amplitudes (N,); got {x.shape} and {amp.shape}")
    if not 0 <= central < len(x):
        raise ValueError(f"central particle {central} is not one of the {len(x)} particles")
    if not (np.isfinite(radius) and radius >= 0):
        raise ValueError(f"radius must be a distance >= 0 (σ), got {radius!r}")
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must lie in [0, 1] (of the largest displacement), got {fraction!r}")
    d = x - x[central]
    d -= box * np.rint(d / box)
    keep = np.einsum("ij,ij->i", d, d) <= radius * radius
    keep |= amp >= fraction * amp.max()
    keep[central] = True
    return np.flatnonzero(keep)


def _sel(indices) -> str:
    return "@" + ",".join(str(int(i)) for i in indices)


class PathViewer(w.VBox):
    """Shows ``model.selected_dwp`` (else the selected IS): frames, colours, the box, the central
    particle.

    ``frames`` (F, N, 3): the coordinates of every particle as placed (σ; :func:`centred_frames`);
    ``drawn``: the particles drawn, sorted (:func:`drawn_particles` with the ``radius`` and
    ``fraction`` widgets; every particle of an IS); ``central``: the central particle (-1 when
    none); ``colors``: one hex colour per particle. The central particle is always visible: the
    others are drawn see-through by default (``fade``) — it sits inside its cage of neighbours, so
    a halo alone would be hidden — and it has a red halo. Arrows (``arrows``) show the
    displacement of the drawn particles that move most, scaled up so that the longest is
    :data:`ARROW_LENGTH` σ. ``images`` adds the periodic images of the drawn particles within r_c
    of the faces. Only the drawn particles are sent to the browser (NGL atom j is particle
    ``drawn[j]``; its residue number is the particle's index). Colours travel with each
    representation (no registered colour scheme), so a front end that renders the view again (a
    browser reload) gets them back.
    """

    def __init__(self, model):
        self.model = model
        n, box = model.system.n_particles, model.system.box
        self.frames = np.zeros((0, n, 3))
        self.drawn = np.zeros(0, dtype=int)
        self.colors: list[str] = []
        self.central = -1
        self.arrow_scale = 0.0
        self.image_index = np.zeros(0, dtype=int)
        # the view fills its column's width (NGL resizes the canvas with it); the player sits below
        self.view = NGLView(width="100%", height="360px", layout=w.Layout(width="100%", min_width="0"))
        self.player = PathPlayer(self.view)
        self.fade = w.Checkbox(value=True, description="see-through neighbours", indent=False)
        self.arrows = w.Checkbox(value=True, description="displacement arrows", indent=False)
        self.images = w.Checkbox(value=False, description="periodic images (r_c)", indent=False)
        whole = np.ceil(whole_box_radius(box) * 10) / 10
        self.radius = w.FloatSlider(
            value=whole if default_radius(box) >= whole_box_radius(box) else default_radius(box), min=0.0, max=whole, step=0.1, readout_format=".1f",
            continuous_update=False, description="neighbourhood radius (σ)", style={"description_width": "initial"},
            layout=w.Layout(width="100%", min_width="0"),
            tooltip=f"draw the particles within this distance of the central particle; {whole:.1f} σ: "
                    "the whole box")
        self.fraction = w.FloatSlider(
            value=MOVER_FRACTION, min=0.0, max=1.0, step=0.01, readout_format=".2f", continuous_update=False,
            description="and movers: |d_i| ≥ max ×", style={"description_width": "initial"},
            layout=w.Layout(width="100%", min_width="0"),
            tooltip="draw, wherever they are, the particles that move at least this fraction of the "
                    "largest displacement")
        self.drawn_note = w.HTML()
        self.scale = w.HTML()
        self.caption = w.HTML("<i>select a DWP</i>")
        super().__init__([w.HTML("<b>Path</b>"), self.caption, self.view, self.player, self.scale,
                          w.HBox([self.fade, self.arrows, self.images], layout=w.Layout(flex_flow="row wrap")),
                          self.radius, self.fraction, self.drawn_note],
                         layout=w.Layout(width="100%", min_width="0"))
        model.observe(lambda _: self.show(), "selected_dwp")
        model.observe(lambda _: self.show() if not model.selected_dwp else None, ["selected_is", "notice"])
        for box_ in (self.fade, self.arrows, self.images):
            box_.observe(lambda _: self.show(), "value")
        for slider in (self.radius, self.fraction):
            slider.observe(lambda _: self.show() if self.central >= 0 else None, "value")
        self.show()

    def clear(self):
        """Remove what is drawn (and its messages from nglview's archive, which a re-rendered
        front end replays)."""
        for comp in list(self.view._ngl_component_ids):
            self.view.remove_component(comp)
        self.view._ngl_msg_archive = [m for m in self.view._ngl_msg_archive
                                      if m.get("target") not in ("Stage", "compList")
                                      and m.get("methodName") not in _COMPONENT_CALLS]

    def show(self):
        m = self.model
        key = m.selected_dwp
        if key:
            self._show_dwp(key)
        elif m.notice or m.selected_is < 0:
            self.clear()
            self.frames = np.zeros((0, m.system.n_particles, 3))
            self.drawn = np.zeros(0, dtype=int)
            self.central, self.colors, self.scale.value, self.drawn_note.value = -1, [], "", ""
            self.caption.value = f"<i>{m.notice or 'select a DWP'}</i>"
        else:
            self._show_is(m.selected_is)

    def _show_is(self, is_id: int):
        box = self.model.system.box
        x = self.model.is_positions(is_id)
        self.frames = (x - box * np.floor(x / box))[None]
        self.drawn = np.arange(len(x))
        self.central, self.arrow_scale = -1, 0.0
        self.colors = ["#9a9a9a"] * len(x)
        self._draw(np.zeros(len(x)), [])
        self.scale.value = ""
        self.drawn_note.value = ""
        self.caption.value = f"IS {is_id} (no DWP selected): A particles large, B small"

    def _show_dwp(self, key: str):
        m = self.model
        src = m.dwp(key)
        row = m.table.set_index("key").loc[key]
        amp = np.linalg.norm(src.displacements, axis=1)
        self.central = int(np.argmax(amp))
        self.frames = centred_frames(src.path, self.central, m.system.box)
        self.colors = colours(amp)
        saddle = self.frames[len(self.frames) // 2]
        self.drawn = drawn_particles(saddle, amp, self.central, m.system.box, float(self.radius.value),
                                     float(self.fraction.value))
        on = np.zeros(len(amp), dtype=bool)
        on[self.drawn] = True
        top = [i for i in np.argsort(amp)[::-1][:12] if amp[i] >= 0.2 * amp.max() and on[i]]
        self._draw(amp, top, src.displacements)
        self.scale.value = colour_bar(float(amp.max())) + (
            f"<span style='font-size:12px'>arrows: displacement × {self.arrow_scale:.1f}</span>"
            if self.arrows.value else "")
        self.drawn_note.value = self._drawn_text(amp)
        self.caption.value = (f"{key}: IS {int(row.is_id)}, Δ = {row.asymmetry:.4f} ε, V = {row.barrier:.4f} ε, "
                              f"central {row.central_type} particle {self.central} (red halo, at the box "
                              f"centre at the saddle)" + self._second_note(amp))

    def _drawn_text(self, amp) -> str:
        n, k = len(amp), len(self.drawn)
        movers = int(np.count_nonzero(amp >= self.fraction.value * amp.max()))
        if k == n:
            what = f"all {n} particles drawn"
        else:
            what = (f"{k} of {n} particles drawn: those within {self.radius.value:.1f} σ of the central "
                    f"particle and the {movers} that move ≥ {100 * self.fraction.value:.0f} % of the largest "
                    "displacement (the movers)")
        return f"<span style='font-size:12px'>{what}</span>"

    def _second_note(self, amp) -> str:
        """How clearly the central particle is central: the particle that moves second most and
        |d_second| / |d_central|, flagged *ambiguous* above :data:`tlsviz.search.AMBIGUOUS_RATIO`
        (then the central particle's A/B label is not a result; docs/search.md). From the
        displacements, so catalogues without the ``second_ratio`` column get it too."""
        from ..search import AMBIGUOUS_RATIO

        second = int(np.argsort(-amp, kind="stable")[1])
        ratio = float(amp[second] / amp[self.central])
        kind = "AB"[int(self.model.system.types[second])]
        text = f"; next: {kind} particle {second} moves {ratio:.2f}× as far"
        if ratio > AMBIGUOUS_RATIO:
            return text + " — <b>ambiguous central particle</b> (ratio above " f"{AMBIGUOUS_RATIO:g})"
        return text

    def _draw(self, amp, arrow_particles, displacements=None):
        """Send the drawn particles' frames and their representations to the view."""
        m, view = self.model, self.view
        box, types = m.system.box, m.system.types
        drawn = self.drawn
        frames = self.frames[:, drawn]  # NGL atom j is particle drawn[j]
        k = len(drawn)
        atom = {int(p): j for j, p in enumerate(drawn)}
        xyz, all_types, numbers = frames, types[drawn], drawn
        self.image_index = np.zeros(0, dtype=int)
        image_atoms = np.zeros(0, dtype=int)
        if self.images.value:
            image_atoms, shift = periodic_images(frames[len(frames) // 2], box, m.system.rc)
            self.image_index = drawn[image_atoms]
            xyz = np.concatenate([frames, frames[:, image_atoms] + shift[None]], axis=1)
            all_types = np.concatenate([all_types, types[self.image_index]])
            numbers = np.concatenate([numbers, self.image_index])
        traj = mdtraj.Trajectory(xyz, topology(all_types, numbers), unitcell_lengths=np.full((len(xyz), 3), box),
                                 unitcell_angles=np.full((len(xyz), 3), 90.0))
        self.clear()
        view.add_trajectory(traj, default_representation=False)
        see_through = self.fade.value and self.central >= 0
        moving = amp[drawn] >= self.fraction.value * (amp.max() or 1.0)
        opacity = np.where(moving, OPACITY_MOVING, OPACITY_STILL) if see_through else np.ones(k)
        if self.central >= 0:
            opacity[atom[self.central]] = 1.0
        colors = np.array(self.colors)[drawn] if len(self.colors) else np.array([], dtype=str)
        groups: dict = {}
        for j, p in enumerate(drawn):
            groups.setdefault((colors[j], int(types[p]), float(opacity[j])), []).append(j)
        for j, a in enumerate(image_atoms):
            groups.setdefault((colors[a], int(types[drawn[a]]), OPACITY_IMAGE), []).append(k + j)
        for (color, t, alpha), members in sorted(groups.items()):
            view.add_representation("spacefill", selection=_sel(members), radius=RADIUS[t], color=color,
                                    opacity=alpha)
        if self.central >= 0:
            view.add_representation("spacefill", selection=f"@{atom[self.central]}",
                                    radius=RADIUS[types[self.central]] * 1.35, color=HALO, opacity=0.35)
        view.add_representation("unitcell")
        self.arrow_scale = 0.0
        if self.arrows.value and len(arrow_particles) and displacements is not None:
            self.arrow_scale = max(1.0, ARROW_LENGTH / float(amp.max()))
            start = self.frames[0] * 10
            for i in arrow_particles:
                end = start[i] + self.arrow_scale * displacements[i] * 10
                view.shape.add_arrow(list(map(float, start[i])), list(map(float, end)), [0.9, 0.1, 0.1], 1.2)
        view.center()
        view.frame = len(frames) // 2
