"""One sweep of GHN-2's gated GNN as a single autograd node with a hand-written backward.

A sweep updates the nodes level by level: level i sums its messages from the message table
(rows written by earlier levels), takes one GRU step, and writes MLP(h) of its new states to the
table. Recorded by autograd op by op that is ~10 autograd nodes a level and ~170 levels a `tiny`
training step, each backward node with its own weight-gradient matmul. Here the forward runs
without autograd, and the backward walks the levels in reverse computing only what is
sequential (a level's state gradient: the MLPs' and GRU gates' backward and the messages'
gradient spread to the rows they read); the weight gradients and the GRU's hidden-side
gradients are then one matmul each over all nodes. torch has no DAG-sweep operator to use
instead (a GRU over a DAG is not a sequence), so the backward is written out here.
"""

from __future__ import annotations

from itertools import accumulate
from typing import TYPE_CHECKING, Protocol

import torch
from torch.autograd.function import once_differentiable

if TYPE_CHECKING:
    from .gated import Sweep


class LevelMessages(Protocol):
    """How a backend sums a level's messages, and the transpose that spreads their gradient back."""

    def gather(self, level: int, rows: torch.Tensor) -> torch.Tensor:
        """Messages [level nodes, hidden] from the message table `rows` [rows, hidden]."""

    def spread(self, level: int, grad: torch.Tensor) -> torch.Tensor:
        """The messages' gradient [level nodes, hidden] as a gradient [rows read, hidden] of the rows
        the level reads (Sweep.levels[level][1], in that order)."""


class GatedSweep(torch.autograd.Function):
    """apply(h, w_ih, b_ih, w_hh, b_hh, w1, b1, w2, b2, sweep, messages, tables) -> the states after
    one sweep: per level h_v <- GRUCell(message, h_v) with nn.GRUCell's equations (GRU weights
    w_ih, b_ih, w_hh, b_hh), then message-table rows relu(relu(h_v w1^T + b1) w2^T + b2)
    ([nodes, tables * hidden], read as [tables * nodes, hidden]). A node is updated from its
    state before the sweep. First derivatives only."""

    @staticmethod
    def forward(ctx, h, w_ih, b_ih, w_hh, b_hh, w1, b1, w2, b2, sweep: Sweep, messages: LevelMessages, tables: int):
        n, hidden = h.shape
        h_o = h.index_select(0, sweep.order)  # states in level order
        gh = torch.addmm(b_hh, h_o, w_hh.t())  # the GRU's hidden side, for all nodes at once
        w_ih_t, w1_t, w2_t = w_ih.t(), w1.t(), w2.t()
        table = h.new_zeros(n, tables * hidden)
        rows = table.view(tables * n, hidden)
        msgs: list[torch.Tensor] = []
        rzs: list[torch.Tensor] = []
        cands: list[torch.Tensor] = []
        news: list[torch.Tensor] = []
        inners: list[torch.Tensor] = []
        outs: list[torch.Tensor] = []
        start, last = 0, len(sweep.sizes) - 1
        for i, ((nodes, _, _), size) in enumerate(zip(sweep.levels, sweep.sizes)):
            end = start + size
            msg = messages.gather(i, rows) if i else h.new_zeros(size, hidden)  # level 0 has no sources
            gi, gh_level = torch.addmm(b_ih, msg, w_ih_t), gh[start:end]
            rz = torch.sigmoid(gi[:, : 2 * hidden] + gh_level[:, : 2 * hidden])
            cand = torch.tanh(torch.addcmul(gi[:, 2 * hidden :], rz[:, :hidden], gh_level[:, 2 * hidden :]))
            new = torch.addcmul(cand, rz[:, hidden:], h_o[start:end] - cand)
            for saved, value in ((msgs, msg), (rzs, rz), (cands, cand), (news, new)):
                saved.append(value)
            if i < last:  # the last level's messages have no reader
                inner = torch.relu(torch.addmm(b1, new, w1_t))
                out = torch.relu(torch.addmm(b2, inner, w2_t))
                table.index_copy_(0, nodes, out)
                inners.append(inner)
                outs.append(out)
            start = end
        new = torch.cat(news)
        ctx.sweep, ctx.messages, ctx.tables = sweep, messages, tables
        ctx.save_for_backward(
            h_o,
            gh,
            torch.cat(msgs),
            torch.cat(rzs),
            torch.cat(cands),
            new,
            cat_rows(inners, w1.shape[0], h),
            cat_rows(outs, w2.shape[0], h),
            w_ih,
            w_hh,
            w1,
            w2,
        )
        return new.index_select(0, sweep.position)

    @staticmethod
    @once_differentiable  # the saved intermediates carry no graph: a second derivative is an error, not a wrong value
    def backward(ctx, grad):
        h_o, gh, msg, rz, cand, new, inner, out, w_ih, w_hh, w1, w2 = ctx.saved_tensors
        sweep, messages, tables = ctx.sweep, ctx.messages, ctx.tables
        n, hidden = h_o.shape
        r, z = rz[:, :hidden], rz[:, hidden:]
        # the GRU gates' local derivatives, for all nodes at once
        d_cand = (1 - z) * (1 - cand * cand)
        d_z = (h_o - cand) * z * (1 - z)
        d_r = gh[:, 2 * hidden :] * r * (1 - r)
        g_new = grad.index_select(0, sweep.order).contiguous()  # dL/d(new state), completed level by level
        g_gi = grad.new_empty(n, 3 * hidden)  # dL/d(W_ih x + b_ih), filled level by level
        g_table = grad.new_zeros(n, tables * hidden)
        g_rows = g_table.view(tables * n, hidden)
        g_inners, g_outs = [], []
        ends = list(accumulate(sweep.sizes))
        for i in range(len(sweep.sizes) - 1, -1, -1):
            nodes, src, _ = sweep.levels[i]
            start, end = ends[i] - sweep.sizes[i], ends[i]
            g = g_new[start:end]
            if i < len(sweep.sizes) - 1:  # the level's table rows: every reader came later, so it is complete
                g_out = torch.ops.aten.threshold_backward(g_table.index_select(0, nodes), out[start:end], 0)
                g_inner = torch.ops.aten.threshold_backward(g_out @ w2, inner[start:end], 0)
                g.addmm_(g_inner, w1)
                g_outs.append(g_out), g_inners.append(g_inner)
            g_cand = g * d_cand[start:end]  # through the GRU gates: r, z, then the candidate
            torch.cat([g_cand * d_r[start:end], g * d_z[start:end], g_cand], 1, out=g_gi[start:end])
            if i:  # spread the messages' gradient to the rows the level read
                g_rows.index_add_(0, src, messages.spread(i, g_gi[start:end] @ w_ih))
        g_gh = torch.cat([g_gi[:, : 2 * hidden], g_gi[:, 2 * hidden :] * r], 1)
        g_h = torch.addmm(g_new * z, g_gh, w_hh).index_select(0, sweep.position)
        g_inner, g_out = cat_rows(g_inners[::-1], w1.shape[0], h_o), cat_rows(g_outs[::-1], w2.shape[0], h_o)
        return (
            g_h,
            g_gi.t() @ msg,
            g_gi.sum(0),
            g_gh.t() @ h_o,
            g_gh.sum(0),
            g_inner.t() @ new[: len(g_inner)],
            g_inner.sum(0),
            g_out.t() @ inner,
            g_out.sum(0),
            None,
            None,
            None,
        )


def cat_rows(parts: list[torch.Tensor], width: int, like: torch.Tensor) -> torch.Tensor:
    """The parts stacked by rows; [0, width] when there are none (a sweep of one level)."""
    return torch.cat(parts) if parts else like.new_zeros(0, width)
