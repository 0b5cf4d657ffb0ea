"""Real-time recurrent learning (Williams and Zipser, 1989): forward mode through time.

BPTT keeps the T states of a sequence and walks back through them once the loss is
known. RTRL keeps none: it carries, beside the state h_t, its *sensitivities*
S_t = dh_t/dtheta (for an LSTM also dc_t/dtheta) and updates them as each step runs,

    S_t = dh_t/dh_(t-1) S_(t-1) + d+h_t/dtheta        (d+: theta's direct effect on this step)

which is one forward-mode pass through the cell with |theta| tangent directions: the
tangent of h_(t-1) is S_(t-1), and the tangent of theta is the identity (theta moves
along each of its own entries). The gradient of this step's loss L_t is then exact and
available at once, with no look back:

    dL_t/dtheta = dL_t/dh_t S_t.

Cost per step: the cell's Jacobian applied to |theta| directions, O(B H^2 |theta|) =
O(B H^4) for H units; memory O(B H |theta|), the same at step 10 and at step 10,000.
Summed over a sequence with theta fixed, the gradients equal full BPTT's (tests check
1e-10); a learner that updates theta every step gets "online" RTRL, whose S then mixes
sensitivities of older thetas (the usual approximation, small for small learning rates).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_rnn.forward_mode import batched_jvp, unit_directions
from tinygrad_rnn.nn.module import Module
from tinygrad_rnn.tensor import Tensor, no_grad

__all__ = ["RTRL"]


class RTRL:
    """Trains a recurrent cell (RNNCell, GRUCell, LSTMCell, LeakyRNNCell) online, by RTRL.

    ``step(x, loss_fn)`` advances the cell one time step on input x (B, I), calls
    ``loss_fn(h)`` on the new hidden state (B, H) for this step's loss (a readout and a
    loss, say), and adds dL_t/dtheta into every parameter's ``.grad``: the cell's by the
    sensitivities, the readout's by an ordinary backward() through loss_fn. Then
    ``optimizer.step()`` as usual, at every step or every k steps. ``reset()`` starts a
    new sequence (state and sensitivities zero).
    """

    def __init__(self, cell: Module) -> None:
        self.cell = cell
        self.parameters = [p for p in cell.parameters() if p.requires_grad]
        if not self.parameters:
            raise ValueError(f"RTRL: {type(cell).__name__} has no parameters that require grad")
        # theta's tangent: entry k of all parameters together moves along direction k
        self.directions = unit_directions([p.shape for p in self.parameters], self.parameters[0].dtype)
        self.reset()

    @property
    def sensitivity_count(self) -> int:
        """|theta|: how many directions every step pushes through the cell."""
        return len(self.directions[0])

    def reset(self) -> None:
        """A new sequence: the state and its sensitivities start at zero (as the cell's None state)."""
        self.state: tuple[Tensor, ...] | None = None
        self.sensitivities: tuple[np.ndarray, ...] | None = None

    def step(self, x: Any, loss_fn: Callable[[Tensor], Tensor] | None = None) -> Tensor | None:
        """One time step: the new state, its sensitivities, and this step's loss gradient
        (none without a loss_fn: a step whose output is not scored)."""
        x = x if isinstance(x, Tensor) else Tensor(x, dtype=self.parameters[0].dtype)
        if self.state is None:
            self._start(x)
        lstm = len(self.state) == 2

        def advance(*state_and_parameters: Tensor) -> Any:  # the parameters are read from the cell
            state = state_and_parameters[: len(self.state)]
            return self.cell(x, tuple(state) if lstm else state[0])

        with no_grad():  # forward mode needs no graph
            new, tangents = batched_jvp(
                advance, (*self.state, *self.parameters), (*self.sensitivities, *self.directions)
            )
        self.state = tuple(new) if lstm else (new,)
        self.sensitivities = tangents
        if loss_fn is None:
            return None
        h = Tensor(self.state[0].data, requires_grad=True)  # a leaf: the loss's gradient stops here
        loss = loss_fn(h)
        loss.backward()  # the readout's parameters get theirs; h.grad = dL_t/dh_t
        if h.grad is not None:
            self._accumulate(np.tensordot(tangents[0], h.grad, axes=h.ndim))  # dL_t/dh_t S_t
        return loss

    def _start(self, x: Tensor) -> None:
        with no_grad():
            start = self.cell(x)  # only for the shapes: zeros of the cell's own state
        states = start if isinstance(start, tuple) else (start,)
        self.state = tuple(Tensor(np.zeros(s.shape, s.dtype)) for s in states)
        self.sensitivities = tuple(np.zeros((self.sensitivity_count, *s.shape), s.dtype) for s in states)

    def _accumulate(self, flat: np.ndarray) -> None:
        """Add dL/dtheta, flat over all parameters, into each parameter's .grad."""
        start = 0
        for p in self.parameters:
            g = flat[start : start + p.size].reshape(p.shape)
            start += p.size
            p.grad = g.copy() if p.grad is None else p.grad + g

    def state_bytes(self) -> int:
        """Memory RTRL carries from step to step: states, sensitivities, theta's directions."""
        arrays = [s.data for s in self.state or ()] + list(self.sensitivities or ()) + self.directions
        return sum(a.nbytes for a in arrays)
