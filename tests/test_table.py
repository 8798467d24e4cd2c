"""The explorer's layout-side widgets without a browser: the DWP table, the player, the layout."""

import numpy as np
import pytest

from tlsviz.widgets import Explorer
from tlsviz.widgets.table import COLUMNS, display_frame


@pytest.fixture(scope="module")
def ex():
    return Explorer()  # the built-in demo catalogue


def test_table_headers_have_units_and_numbers_stay_numbers(ex):
    frame = display_frame(ex.model.filtered())
    assert list(frame.columns) == [h for h, _ in COLUMNS.values()]
    assert {"Δ [ε]", "V [ε]", "d_mw,rp [σ]", "PR₂", "count", "Δ₀ [K]"} <= set(frame.columns)
    assert frame["Δ [ε]"].dtype == float and frame["count"].dtype == np.int64  # sorted as numbers
    t = ex.model.table
    assert frame["central"].iloc[0] == f"{t.central_type.iloc[0]} {t.central_index.iloc[0]}"
    renders = [d for d in ex.table.table._dt_args["columnDefs"] if "render" in d]
    formatted = {i for d in renders for i in d["targets"]}
    assert formatted == {list(frame.columns).index(h) for h in ("Δ [ε]", "V [ε]", "d_mw,rp [σ]", "PR₂", "Δ₀ [K]")}


def test_a_click_selects_through_the_model_and_the_table_follows(ex):
    m, table = ex.model, ex.table
    assert table.row_keys == list(m.filtered().key)
    table.table.selected_rows = [4]  # a click on the fifth row (what the browser sends)
    assert m.selected_dwp == table.row_keys[4]
    assert ex.viewer.caption.value.startswith(f"{m.selected_dwp}:")  # the viewer shows it
    assert ex.viewer.frames.shape == m.dwp(m.selected_dwp).path.shape
    m.selected_dwp = table.row_keys[2]  # set elsewhere (e.g. the filters' arrows): the highlight follows
    assert table.table.selected_rows == [2]
    table.table.selected_rows = []  # a click that deselects: the model keeps its DWP, the row is shown again
    assert m.selected_dwp == table.row_keys[2] and table.table.selected_rows == [2]


def test_filtering_refreshes_rows_without_touching_the_selection(ex):
    m, table = ex.model, ex.table
    m.scope, m.central_type = "all", "any"
    b_key = m.table[m.table.central_type == "B"].key.iloc[-1]
    a_key = m.table[m.table.central_type == "A"].key.iloc[0]
    m.selected_dwp = b_key
    m.central_type = "B"
    assert set(table.row_keys) == set(m.table[m.table.central_type == "B"].key)
    assert m.selected_dwp == b_key and table.table.selected_rows == [table.row_keys.index(b_key)]
    m.selected_dwp = a_key  # hidden by the filter: nothing highlighted, the model unchanged
    assert table.table.selected_rows == [] and m.selected_dwp == a_key
    assert f"{len(table.row_keys)} of {len(m.table)}" in table.count.value
    m.central_type = "any"  # the model's DWP is listed again: highlighted again
    assert table.table.selected_rows == [table.row_keys.index(m.selected_dwp)]


def test_player_runs_the_whole_path_below_the_view(ex):
    v, player = ex.viewer, ex.viewer.player
    ex.model.selected_dwp = ex.table.row_keys[0]
    assert v.view.max_frame == len(v.frames) - 1 > 0
    assert player.play.max == player.slider.max == v.view.max_frame
    assert player.play.repeat  # loops by default
    v.view.frame = v.view.max_frame // 2  # at rest on the saddle
    player.play.playing = True  # Play pressed (the browser sends this)
    assert v.view.frame == 0  # the links move Play and the slider with it in the browser
    children = list(v.children)
    assert children.index(player) == children.index(v.view) + 1  # below the view, not over it
    assert v.view._iplayer.layout.display == "none" and not v.view._iplayer.children  # nglview's overlay


def test_layout_columns_shrink_and_the_view_fills_its_column(ex):
    top, bottom = ex.children[1], ex.children[2]
    for box in (top, bottom):
        assert box.layout.flex_flow == "row wrap"
        assert all(col.layout.min_width == "0" for col in box.children)
    assert ex.viewer.view.layout.width == "100%" and ex.viewer.view._view_width == "100%"
    called = []
    ex.resize._resized(lambda: called.append(1), {"width": 612.5})  # the browser reports a new width
    assert called and ex.resize.width == 612.5
