"""A numba-JIT model of a Loihi core, bit-exact with Lava 0.10's fixed-point processes.

Why it exists: Lava's CPU simulation starts one OS process per Lava process and pays a
synchronisation round per step, which makes it seconds per sample; a co-design search
evaluates thousands of samples per candidate. This kernel computes exactly the spikes Lava
computes (tests compare every spike with Lava itself), orders of magnitude faster.

Arithmetic, as Lava 0.10 really does it (read from `lava/proc/lif/models.py`,
`lava/proc/dense/models.py` and the channel code), step t of one layer:

Synapses (`PyDenseModelBitAcc` / `PyDelayDenseModelBitAcc`): the effective weights are
Lava's clipped + truncated mantissas (`DenseLayer.effective_weights`). The spikes the source
sent at step t are summed per output neuron (int64) and per delay group (one group without
delays), then shifted by the weight exponent (left for > 0, arithmetic right = floor for < 0;
the shift is applied to each group's sum, which is not the same as shifting each weight),
and queued: delay d arrives at the neuron at step t + 1 + d (Dense sends last step's buffer
before reading this step's spikes, so even d = 0 costs one step). What arrives is wrapped to
int32, the dtype of the channel.

Neurons (`PyLifModelBitAcc`), with netx's decays du, dv in 0..4096 (Lava's LIF gets du - 1
and adds it back through its 1-bit offset):

    u' = sign(u * (4096 - du)) * (|u * (4096 - du)| >> 12)          (round toward zero)
    u' = int32(u' + int32(a_in << 6)), then wrapped once: > 2**23 -> -2**24, <= -2**23 -> +2**24
    v' = sign(v * (4096 - dv)) * (|v * (4096 - dv)| >> 12)
    v' = clip(int32(v' + u' + (bias_mant << bias_exp)), -2**23 + 1, 2**23 - 1)
    spike = v' > (vth << 6); a spiking neuron's v is reset to 0, u is kept.

Other layer kinds (`hw_models.network`), each as Lava runs what netx builds:

- conv (`PyConvModelFixed`): each input spike adds its kernel taps to the output neurons
  it reaches (a sparse fan-out table built once); the sum arrives one step later, wrapped to
  a signed 24-bit value; no weight exponent, no weight-bit truncation (Lava applies neither).
  Lava 0.10 sums the conv with scipy's convolve2d in float64 (its torch path is disabled),
  exact for any chip-sized kernel.
- recurrent dense (`dense_rec`): a second Dense from the layer's own spikes, floored by the
  same exponent on its own, arriving one step after the spike like any synapse.
- input layer with a neuron: no synapses; drive frame t is the neurons' bias mantissa from step
  t + 1 on (a `StateDataloader` writes it to `bias_mant` after step t; step 0 has bias 0).
- readout (a layer that never spikes): its voltage v is recorded per step.

Refractory (numba only; Lava's fixed-point LIF has none): for `refractory` steps after a
spike, u integrates as usual but v is held at 0 and the neuron cannot spike, as Lava's
floating-point `LIFRefractory` model behaves.

Sigma-delta networks (graded spikes, `hw_models.network.SigmaDelta`) run in their own kernel
(`_run_graded_sample`), so the CUBA path stays as fast as it was. As Lava 0.10's fixed-point
models compute them (`lava/proc/sdn/models.py`, every value an int32 that wraps):

    synapse (Dense): a = int32(sum_i w_i * s_i), then << weight_exp (int32) or >> -weight_exp (floor);
             a binary source (message_bits 0) sends s_i = 1 for any non-zero message
    synapse (Conv):  a = signed 24-bit wrap of sum_i w_i * s_i (no exponent; Lava sums exactly in float64)
    Delta (input):   x = int32(frame << (spike_exp + state_exp)); delta = x - act + residue; act = x
    SigmaDelta:      sigma += a; x = relu(sigma + (bias << scale)) (or unit); delta = x - act + residue; act = x
    Sigma (output):  sigma += a; message = sigma
    spike:           s = delta if |delta| >= vth << (spike_exp + state_exp) else 0  (with cum_error:
                     error += delta, s = delta if |error| >= vth' else 0, error = 0 where s != 0)
                     residue = delta - s; message = s >> state_exp (floor)

A Delta input receives frame t at step t (a source on its a_in); every synapse costs one step.
Counts: input_spikes are the non-zero messages arriving, synaptic_ops their non-zero-weight
fan-out, output_spikes the non-zero messages sent; a neuron-step is active when input arrived,
the residue was non-zero or the activation changed (otherwise it provably sends nothing and keeps
its state); a Sigma neuron-step is active when input arrived.

Activity counts are gathered in the same pass; their definitions are in
`hw_models.backends.result`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# numba's OpenMP threads spin while waiting by default; on a machine whose cores are busy
# (CI, a sweep's other workers) that spinning made a 2-thread batch 5x slower than 1 thread.
# Passive waiting costs nothing measurable here. Read once, when numba first starts threads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
import numpy as np  # noqa: E402

from hw_models.activity import COUNT_FIELDS, ActivityCounts  # noqa: E402
from hw_models.backends.result import SimulationResult  # noqa: E402
from hw_models.network import CONV_SUM_BITS, ConvLayer, DenseLayer, InputLayer, Network  # noqa: E402

# Columns of the per-layer parameter table handed to the kernel.
(
    P_N_IN,
    P_N_OUT,
    P_W_OFF,
    P_NEURON_OFF,
    P_COL_OFF,
    P_RIGHT_SHIFT,
    P_DU,
    P_DV,
    P_VTH,
    P_HAS_DELAY,
    P_MAX_DELAY,
    P_RING_OFF,
    P_RING_SIZE,
    P_REFRACTORY,
    P_RECORD_OFF,
    P_NARROW,
    P_SYNAPSE,
    P_TABLE_OFF,
    P_ENTRY_OFF,
    P_WRAP_BITS,
    P_REC_W_OFF,
    P_BIAS_EXP,
) = range(22)
N_PARAMS = 22
SYNAPSE_DENSE, SYNAPSE_TABLE, SYNAPSE_DRIVE = 0, 1, 2  # P_SYNAPSE: dense matrix, sparse fan-out table (conv), none (input drive)
NARROW_INPUT_MAX = 1 << 17  # |a_in| below this keeps every int32/24-bit intermediate in range

# Columns of the per-(sample, layer) count table the kernel fills (numba wants integer columns).
C_INPUT = COUNT_FIELDS.index("input_spikes")
C_SYNOPS = COUNT_FIELDS.index("synaptic_ops")
C_ACTIVE = COUNT_FIELDS.index("active_neuron_updates")
C_INACTIVE = COUNT_FIELDS.index("inactive_neuron_updates")
C_OUTPUT = COUNT_FIELDS.index("output_spikes")
C_DELAYED = COUNT_FIELDS.index("delayed_events")
N_COUNTS = len(COUNT_FIELDS)

UV_LIMIT = 1 << 23  # u and v are 24-bit registers
DECAY_UNITY = 1 << 12


def simulate(network: Network, spikes: np.ndarray, record_layers: bool, cache: dict | None = None) -> SimulationResult:
    """Run validated input (batch, n_in, T): uint8 spikes, or int64 drive for an input layer;
    `cache` keeps the packed network between calls."""
    cache = {} if cache is None else cache
    if network.graded:
        return _simulate_graded(network, spikes, record_layers, cache)
    if record_layers not in cache:
        cache[record_layers] = pack_network(network, record_layers)
    recorded, table, voltage = run_packed(cache[record_layers], spikes)
    layers = None
    if record_layers:
        bounds = np.cumsum([0] + [layer.n_out for layer in network.layers])
        layers = [recorded[:, start:stop] for start, stop in zip(bounds, bounds[1:])]
        output = layers[-1]
    else:
        output = recorded
    counts = ActivityCounts(**{name: table[:, :, COUNT_FIELDS.index(name)] for name in COUNT_FIELDS}, timesteps=spikes.shape[2])
    voltage = voltage if not network.layers[-1].spiking else None
    return SimulationResult(output=output, layers=layers, counts=counts, backend="numba", voltage=voltage)


@dataclass(frozen=True)
class PackedNetwork:
    """A Network flattened into the arrays the kernel takes (numba wants flat, typed arrays)."""

    params: np.ndarray  # (n_layers, N_PARAMS) int64
    weights: np.ndarray  # dense (and recurrent) effective weights << max(exponent, 0), each transposed to (in, out), int16/32
    delays: np.ndarray  # same layout as the dense weights (zeros for layers without delays), int64
    table_starts: np.ndarray  # conv fan-out tables: per input of each table layer, where its entries start (+ one end)
    table_targets: np.ndarray  # per entry: the output neuron (within the layer)
    table_weights: np.ndarray  # per entry: the weight
    column_synapses: np.ndarray  # per input of each layer: synapses with a non-zero effective weight
    column_delayed: np.ndarray  # per input of each layer: of those, how many have delay > 0
    recurrent_synapses: np.ndarray  # per neuron: its non-zero recurrent synapses (0 without recurrence)
    bias: np.ndarray  # per neuron of every layer: bias_mant << bias_exp, int64
    n_neurons: int
    ring_size: int
    max_out: int
    max_delay: int
    record_size: int
    voltage_off: int  # neuron offset of a last layer that never spikes (its v is recorded), else -1


def pack_network(network: Network, record_layers: bool) -> PackedNetwork:
    """Flatten `network` for the kernel; `record_layers` decides which layers' spikes are kept."""
    n_layers = len(network.layers)
    params = np.zeros((n_layers, N_PARAMS), dtype=np.int64)
    weights, delays, col_syn, col_delayed, biases, recurrent = [], [], [], [], [], []
    starts, targets, entries = [], [], []
    w_off = neuron_off = col_off = ring_off = record_off = start_off = entry_off = 0
    for index, layer in enumerate(network.layers):
        synapse, table_off, layer_entry_off, rec_off, max_arrival = SYNAPSE_DRIVE, 0, 0, -1, 0
        if isinstance(layer, DenseLayer):
            synapse = SYNAPSE_DENSE
            effective = layer.effective_weights().astype(np.int64)
            layer_delays = np.zeros_like(effective) if layer.delays is None else layer.delays.astype(np.int64)
            # a left shift distributes over the sum exactly, so positive exponents are applied to the
            # weights once (|w| << 7 < 2**15); negative ones must floor each group's sum, in the kernel
            weights.append((effective << max(layer.weight_exponent, 0)).T.ravel())
            delays.append(layer_delays.T.ravel())
            max_arrival = _max_arrival(effective, layer.weight_exponent)
            w_off_layer, w_off = w_off, w_off + effective.size
            if layer.recurrent_weights is not None:
                looped = layer.effective_recurrent_weights().astype(np.int64)
                weights.append((looped << max(layer.weight_exponent, 0)).T.ravel())
                delays.append(np.zeros(looped.size, dtype=np.int64))
                max_arrival += _max_arrival(looped, layer.weight_exponent)
                rec_off, w_off = w_off, w_off + looped.size
        else:
            w_off_layer = 0
        if isinstance(layer, ConvLayer):
            synapse = SYNAPSE_TABLE
            layer_starts, layer_targets, layer_weights = layer.synapse_table()
            starts.append(layer_starts[:-1] + entry_off)
            targets.append(layer_targets)
            entries.append(layer_weights)
            table_off, layer_entry_off = start_off, entry_off
            start_off += layer.n_in
            entry_off += layer_targets.size
            max_arrival = int(np.bincount(layer_targets, np.abs(layer_weights), minlength=layer.n_out).max(initial=0))
        synapses, delayed = layer.fan_out()
        col_syn.append(synapses)
        col_delayed.append(delayed)
        recurrent.append(layer.recurrent_fan_out() if isinstance(layer, DenseLayer) else np.zeros(layer.n_out, dtype=np.int64))
        bias = layer.neuron_bias.astype(np.int64)
        biases.append(bias << layer.bias_exp if layer.bias_exp >= 0 else bias >> -layer.bias_exp)
        records = record_layers or index == n_layers - 1
        ring_size = layer.max_delay + 2
        params[index] = (
            layer.n_in,
            layer.n_out,
            w_off_layer,
            neuron_off,
            col_off,
            max(-getattr(layer, "weight_exponent", 0), 0),
            layer.du,
            layer.dv,
            layer.vth << 6,
            int(getattr(layer, "delays", None) is not None),
            layer.max_delay,
            ring_off,
            ring_size,
            layer.refractory,
            record_off if records else -1,
            int(max_arrival <= NARROW_INPUT_MAX),
            synapse,
            table_off,
            layer_entry_off,
            CONV_SUM_BITS if synapse == SYNAPSE_TABLE else 32,
            rec_off,
            layer.bias_exp,
        )
        neuron_off += layer.n_out
        col_off += layer.n_in
        ring_off += ring_size * layer.n_out
        if records:
            record_off += layer.n_out
    last = network.layers[-1]
    ends = [np.array([entry_off], dtype=np.int64)]
    return PackedNetwork(
        params=params,
        weights=_narrowest_int(np.concatenate(weights) if weights else np.zeros(0, dtype=np.int64)),
        delays=np.concatenate(delays) if delays else np.zeros(0, dtype=np.int64),
        table_starts=np.concatenate(starts + ends).astype(np.int64),
        table_targets=np.concatenate(targets).astype(np.int64) if targets else np.zeros(0, dtype=np.int64),
        table_weights=np.concatenate(entries).astype(np.int64) if entries else np.zeros(0, dtype=np.int64),
        column_synapses=np.concatenate(col_syn).astype(np.int64),
        column_delayed=np.concatenate(col_delayed).astype(np.int64),
        recurrent_synapses=np.concatenate(recurrent).astype(np.int64),
        bias=np.concatenate(biases),
        n_neurons=neuron_off,
        ring_size=ring_off,
        max_out=max(layer.n_out for layer in network.layers),
        max_delay=max(layer.max_delay for layer in network.layers),
        record_size=record_off,
        voltage_off=-1 if last.spiking else neuron_off - last.n_out,
    )


def _narrowest_int(values: np.ndarray) -> np.ndarray:
    """int16 when the values fit (always, for chip weights << exponent <= 7: |w| <= 2**15): half the memory traffic."""
    if values.size == 0 or (values.min() >= -(2**15) and values.max() < 2**15):
        return values.astype(np.int16)
    return values.astype(np.int32)


def _max_arrival(effective: np.ndarray, weight_exponent: int) -> int:
    """Largest |input| one neuron can receive in one step: each synapse delivers at most once per step."""
    if effective.size == 0:
        return 0
    return int(np.abs(effective).sum(axis=1).max()) << max(weight_exponent, 0)


def run_packed(packed: PackedNetwork, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the kernel: recorded spikes (batch, record_size, T) uint8, counts (batch, n_layers, 6) int64,
    and the voltage (batch, n_out, T) int64 of a last layer that never spikes (else (batch, 0, T))."""
    batch, _, steps = inputs.shape
    recorded = np.zeros((batch, packed.record_size, steps), dtype=np.uint8)
    counts = np.zeros((batch, packed.params.shape[0], N_COUNTS), dtype=np.int64)
    n_voltage = 0 if packed.voltage_off < 0 else int(packed.params[-1, P_N_OUT])
    voltage = np.zeros((batch, n_voltage, steps), dtype=np.int64)
    drive = packed.params[0, P_SYNAPSE] == SYNAPSE_DRIVE
    _run_batch(
        np.ascontiguousarray(inputs, dtype=np.int64 if drive else np.uint8),
        packed.params,
        packed.weights,
        packed.delays,
        packed.table_starts,
        packed.table_targets,
        packed.table_weights,
        packed.column_synapses,
        packed.column_delayed,
        packed.recurrent_synapses,
        packed.bias,
        packed.n_neurons,
        packed.ring_size,
        packed.max_out,
        packed.max_delay,
        packed.voltage_off,
        recorded,
        counts,
        voltage,
    )
    return recorded, counts, voltage


@numba.njit(cache=True, inline="always")
def _wrap32(x):
    """x modulo 2**32 as a signed int32 value (numpy's int32 overflow), kept in int64."""
    return ((x + 2147483648) & 4294967295) - 2147483648


@numba.njit(cache=True, inline="always")
def _wrap(x, bits):
    """x as a signed `bits`-bit value (Lava's `signed_clamp`, which wraps), kept in int64."""
    half = np.int64(1) << (bits - 1)
    return ((x + half) & (2 * half - 1)) - half


@numba.njit(cache=True, inline="always")
def _decay(x, keep):
    """Lava's 12-bit decay: x * keep / 4096 rounded toward zero (branch-free, so loops vectorize)."""
    product = x * keep
    magnitude = np.abs(product) >> 12
    return -magnitude if product < 0 else magnitude


@numba.njit(cache=True, inline="always")
def _active_indices(spiking, offset, size, indices):
    """Indices i < size with spiking[offset + i] != 0, written to `indices` (branch-free); their count."""
    count = 0
    for i in range(size):
        indices[count] = i
        count += spiking[offset + i] != 0
    return count


@numba.njit(cache=True)
def _accumulate_shifted(ring, slot, sums, weights, w_off, n_out, active_inputs, n_active, right_shift):
    """ring[slot:slot+n_out] = floor(sum of the active inputs' weight rows / 2**right_shift); int32 sums are exact."""
    due = ring[slot : slot + n_out]
    sums = sums[:n_out]
    sums[:] = 0
    for k in range(n_active):
        row = weights[w_off + active_inputs[k] * n_out : w_off + (active_inputs[k] + 1) * n_out]
        for n in range(n_out):
            sums[n] += row[n]
    for n in range(n_out):
        due[n] = np.int64(sums[n]) >> right_shift


@numba.njit(cache=True, inline="always")
def _integrate(u_old, v_old, a_in, bias, du_keep, dv_keep):
    """One LIF step of one neuron before the threshold: (u, v)."""
    current = _wrap32(_decay(u_old, du_keep) + _wrap32(a_in << 6))
    current = current - 2 * UV_LIMIT if current > UV_LIMIT else current
    current = current + 2 * UV_LIMIT if current <= -UV_LIMIT else current
    voltage = _wrap32(_decay(v_old, dv_keep) + current + bias)
    return current, min(max(voltage, -UV_LIMIT + 1), UV_LIMIT - 1)


@numba.njit(cache=True, inline="always")
def _integrate_narrow(u_old, v_old, a_in, bias, du_keep, dv_keep):
    """`_integrate` when |a_in| <= 2**17: then |u| <= 2**23 stays true, |a_in << 6| + |u| <= 2**24 and
    |v| + |u| + |bias| < 2**25, so none of the int32 wraps can fire and are left out (faster, same bits)."""
    current = _decay(u_old, du_keep) + (a_in << 6)
    current = current - 2 * UV_LIMIT if current > UV_LIMIT else current
    current = current + 2 * UV_LIMIT if current <= -UV_LIMIT else current
    voltage = _decay(v_old, dv_keep) + current + bias
    return current, min(max(voltage, -UV_LIMIT + 1), UV_LIMIT - 1)


@numba.njit(cache=True)
def _lif(u, v, fired, bias, off, ring, slot, n_out, du_keep, dv_keep, vth, narrow, wrap_bits):
    """One step of neurons off..off+n_out (branch-free, so it vectorizes); consumes their ring slot."""
    u = u[off : off + n_out]
    v = v[off : off + n_out]
    fired = fired[off : off + n_out]
    bias = bias[off : off + n_out]
    ring = ring[slot : slot + n_out]
    n_fired = 0
    n_active = 0
    if narrow:
        for idx in range(n_out):
            a_in = ring[idx]
            ring[idx] = 0
            n_active += (u[idx] | v[idx] | a_in | bias[idx]) != 0
            current, voltage = _integrate_narrow(u[idx], v[idx], a_in, bias[idx], du_keep, dv_keep)
            spike = voltage > vth
            u[idx] = current
            v[idx] = 0 if spike else voltage
            fired[idx] = spike
            n_fired += spike
        return n_fired, n_active
    for idx in range(n_out):
        a_in = _wrap(ring[idx], wrap_bits)
        ring[idx] = 0
        n_active += (u[idx] != 0) | (v[idx] != 0) | (a_in != 0) | (bias[idx] != 0)
        current, voltage = _integrate(u[idx], v[idx], a_in, bias[idx], du_keep, dv_keep)
        spike = voltage > vth
        u[idx] = current
        v[idx] = 0 if spike else voltage
        fired[idx] = spike
        n_fired += spike
    return n_fired, n_active


@numba.njit(cache=True)
def _lif_refractory(u, v, refractory_left, fired, bias, off, ring, slot, n_out, du_keep, dv_keep, vth, refractory, wrap_bits):
    """`_lif` with refractory steps: v held at 0 and no spike while `refractory_left` > 0."""
    u = u[off : off + n_out]
    v = v[off : off + n_out]
    refractory_left = refractory_left[off : off + n_out]
    fired = fired[off : off + n_out]
    bias = bias[off : off + n_out]
    ring = ring[slot : slot + n_out]
    n_fired = 0
    n_active = 0
    for idx in range(n_out):
        a_in = _wrap(ring[idx], wrap_bits)
        ring[idx] = 0
        n_active += (u[idx] != 0) | (v[idx] != 0) | (a_in != 0) | (bias[idx] != 0)
        current, voltage = _integrate(u[idx], v[idx], a_in, bias[idx], du_keep, dv_keep)
        frozen = refractory_left[idx] > 0
        spike = voltage > vth and not frozen
        u[idx] = current
        v[idx] = 0 if spike or frozen else voltage
        refractory_left[idx] = refractory if spike else (refractory_left[idx] - 1 if frozen else 0)
        fired[idx] = spike
        n_fired += spike
    return n_fired, n_active


@numba.njit(cache=True, parallel=True)
def _run_batch(
    inputs,
    params,
    weights,
    delays,
    table_starts,
    table_targets,
    table_weights,
    column_synapses,
    column_delayed,
    recurrent_synapses,
    bias,
    n_neurons,
    ring_total,
    max_out,
    max_delay,
    voltage_off,
    recorded,
    counts,
    voltage,
):
    batch = inputs.shape[0]
    for b in numba.prange(batch):
        _run_sample(
            inputs[b],
            params,
            weights,
            delays,
            table_starts,
            table_targets,
            table_weights,
            column_synapses,
            column_delayed,
            recurrent_synapses,
            bias,
            n_neurons,
            ring_total,
            max_out,
            max_delay,
            voltage_off,
            recorded[b],
            counts[b],
            voltage[b],
        )


@numba.njit(cache=True)
def _run_sample(
    inputs,
    params,
    weights,
    delays,
    table_starts,
    table_targets,
    table_weights,
    column_synapses,
    column_delayed,
    recurrent_synapses,
    bias,
    n_neurons,
    ring_total,
    max_out,
    max_delay,
    voltage_off,
    recorded,
    counts,
    voltage,
):
    """One sample, step by step; `inputs` is (n_in, T) spikes or drive, `recorded` is (record_size, T)."""
    n_layers = params.shape[0]
    n_inputs, steps = inputs.shape
    flat_inputs = np.ascontiguousarray(inputs.T).ravel()  # time-major: each step's scan is contiguous
    u = np.zeros(n_neurons, dtype=np.int64)
    v = np.zeros(n_neurons, dtype=np.int64)
    refractory_left = np.zeros(n_neurons, dtype=np.int64)
    fired = np.zeros(n_neurons, dtype=np.uint8)
    ring = np.zeros(ring_total, dtype=np.int64)
    bias_now = bias.copy()
    group_sums = np.zeros((max_delay + 1) * max_out, dtype=np.int32)
    active_inputs = np.zeros(max(n_inputs, max_out) + 1, dtype=np.int64)
    for t in range(steps):
        for layer in range(n_layers):
            layer_params = params[layer]
            n_in = layer_params[P_N_IN]
            n_out = layer_params[P_N_OUT]
            neuron_off = layer_params[P_NEURON_OFF]
            synapse = layer_params[P_SYNAPSE]
            # --- synapses: this step's source spikes, queued for step t + 1 + delay ---
            if synapse == SYNAPSE_DRIVE:  # an input layer: the frame written after step t - 1 is its bias mantissa
                for n in range(n_out):
                    frame = np.int64(flat_inputs[(t - 1) * n_in + n]) if t > 0 else np.int64(0)
                    bias_now[neuron_off + n] = frame << layer_params[P_BIAS_EXP]
            else:
                if layer == 0:
                    n_active = _active_indices(flat_inputs, t * n_in, n_in, active_inputs)
                else:
                    n_active = _active_indices(fired, params[layer - 1, P_NEURON_OFF], n_in, active_inputs)
                _count_synaptic_events(counts[layer], column_synapses, column_delayed, layer_params[P_COL_OFF], active_inputs, n_active)
                if synapse == SYNAPSE_DENSE:
                    _queue_synaptic_input(ring, group_sums, weights, delays, layer_params, active_inputs, n_active, t)
                else:
                    _queue_table(ring, table_starts, table_targets, table_weights, layer_params, active_inputs, n_active, t)
            # --- neurons: integrate what arrives at step t (kept inline here: one more call level costs ~10%) ---
            slot = layer_params[P_RING_OFF] + (t % layer_params[P_RING_SIZE]) * n_out
            du_keep = DECAY_UNITY - layer_params[P_DU]
            dv_keep = DECAY_UNITY - layer_params[P_DV]
            vth = layer_params[P_VTH]
            refractory = layer_params[P_REFRACTORY]
            wrap_bits = layer_params[P_WRAP_BITS]
            if refractory > 0:
                n_fired, n_active_neurons = _lif_refractory(
                    u, v, refractory_left, fired, bias_now, neuron_off, ring, slot, n_out, du_keep, dv_keep, vth, refractory, wrap_bits
                )
            else:
                n_fired, n_active_neurons = _lif(
                    u, v, fired, bias_now, neuron_off, ring, slot, n_out, du_keep, dv_keep, vth, layer_params[P_NARROW] != 0, wrap_bits
                )
            if layer_params[P_REC_W_OFF] >= 0 and n_fired:  # recurrent synapses: this step's spikes, due at t + 1
                _queue_recurrent(ring, group_sums, weights, layer_params, fired, active_inputs, t)
                counts[layer, C_INPUT] += n_fired
                for k in range(n_fired):
                    counts[layer, C_SYNOPS] += recurrent_synapses[neuron_off + active_inputs[k]]
            if layer_params[P_RECORD_OFF] >= 0:
                _record_spikes(recorded, layer_params[P_RECORD_OFF], fired, neuron_off, n_out, t)
            if layer == n_layers - 1 and voltage_off >= 0:
                for n in range(n_out):
                    voltage[n, t] = v[voltage_off + n]
            counts[layer, C_OUTPUT] += n_fired
            counts[layer, C_ACTIVE] += n_active_neurons
            counts[layer, C_INACTIVE] += n_out - n_active_neurons


@numba.njit(cache=True)
def _queue_table(ring, table_starts, table_targets, table_weights, layer_params, active_inputs, n_active, t):
    """Conv: each active input adds its kernel taps to the neurons it reaches, due at step t + 1.

    The slot is zero: its neurons zeroed it when they consumed it (ring size 2: conv has no delays)."""
    n_out = layer_params[P_N_OUT]
    slot = layer_params[P_RING_OFF] + ((t + 1) % layer_params[P_RING_SIZE]) * n_out
    base = layer_params[P_TABLE_OFF]
    for k in range(n_active):
        source = base + active_inputs[k]
        for entry in range(table_starts[source], table_starts[source + 1]):
            ring[slot + table_targets[entry]] += table_weights[entry]


@numba.njit(cache=True)
def _queue_recurrent(ring, group_sums, weights, layer_params, fired, active, t):
    """dense_rec: the layer's spikes of step t through its recurrent Dense (floored on its own), added to step t + 1.

    Leaves the spiking neurons' indices in `active` (the caller counts their synaptic ops)."""
    n_out = layer_params[P_N_OUT]
    n_active = _active_indices(fired, layer_params[P_NEURON_OFF], n_out, active)
    slot = layer_params[P_RING_OFF] + ((t + 1) % layer_params[P_RING_SIZE]) * n_out
    sums = group_sums[:n_out]
    sums[:] = 0
    rec_off = layer_params[P_REC_W_OFF]
    for k in range(n_active):
        row = weights[rec_off + active[k] * n_out : rec_off + (active[k] + 1) * n_out]
        for n in range(n_out):
            sums[n] += row[n]
    right_shift = layer_params[P_RIGHT_SHIFT]
    for n in range(n_out):
        ring[slot + n] += np.int64(sums[n]) >> right_shift


@numba.njit(cache=True, inline="always")
def _count_synaptic_events(layer_counts, column_synapses, column_delayed, col_off, active_inputs, n_active):
    """Add this step's input spikes, their synaptic ops and delayed events to one layer's counts."""
    synaptic_ops = 0
    delayed_events = 0
    for k in range(n_active):
        synaptic_ops += column_synapses[col_off + active_inputs[k]]
        delayed_events += column_delayed[col_off + active_inputs[k]]
    layer_counts[C_INPUT] += n_active
    layer_counts[C_SYNOPS] += synaptic_ops
    layer_counts[C_DELAYED] += delayed_events


@numba.njit(cache=True)
def _queue_synaptic_input(ring, group_sums, weights, delays, layer_params, active_inputs, n_active, t):
    """Queue what this step's active inputs send: per (neuron, delay) group, the sum of their weights
    floored by the exponent, due at step t + 1 + delay (one group, due at t + 1, without delays)."""
    n_out = layer_params[P_N_OUT]
    w_off = layer_params[P_W_OFF]
    ring_off = layer_params[P_RING_OFF]
    ring_size = layer_params[P_RING_SIZE]
    right_shift = layer_params[P_RIGHT_SHIFT]
    if layer_params[P_HAS_DELAY] == 0:
        # one group, due at t + 1: the int32 sum is exact (|sum| <= n_in * 2**15)
        slot = ring_off + ((t + 1) % ring_size) * n_out
        _accumulate_shifted(ring, slot, group_sums, weights, w_off, n_out, active_inputs, n_active, right_shift)
    elif n_active == 0:
        return
    elif right_shift == 0:  # flooring by 2**0 is the identity: weights go straight into the ring
        for k in range(n_active):
            row = w_off + active_inputs[k] * n_out
            for n in range(n_out):
                ring[ring_off + ((t + 1 + delays[row + n]) % ring_size) * n_out + n] += weights[row + n]
    else:
        layer_max_delay = layer_params[P_MAX_DELAY]
        for j in range((layer_max_delay + 1) * n_out):
            group_sums[j] = 0
        for k in range(n_active):
            row = w_off + active_inputs[k] * n_out
            for n in range(n_out):
                group_sums[delays[row + n] * n_out + n] += weights[row + n]
        for d in range(layer_max_delay + 1):
            slot = ring_off + ((t + 1 + d) % ring_size) * n_out
            for n in range(n_out):
                ring[slot + n] += np.int64(group_sums[d * n_out + n]) >> right_shift


@numba.njit(cache=True, inline="always")
def _record_spikes(recorded, record_off, fired, neuron_off, n_out, t):
    for n in range(n_out):
        if fired[neuron_off + n]:
            recorded[record_off + n, t] = 1


# ----------------------------------------------------------------------------------------------
# Sigma-delta (graded spike) networks: their own packing and kernel (see the module docstring).

# Columns of the graded per-layer parameter table.
(
    G_N_OUT, G_SYNAPSE, G_W_OFF, G_NEURON_OFF, G_COL_OFF, G_TABLE_OFF, G_LEFT_SHIFT, G_RIGHT_SHIFT,
    G_ROLE, G_VTH, G_IN_SHIFT, G_STATE_EXP, G_RELU, G_CUM_ERROR, G_SOURCE_BINARY, G_RECORD_OFF, G_RING_OFF,
    G_RING_SLOTS, G_CONV_PIXELS, G_CONV_GROUP_OUT, G_CONV_GROUP_SLOTS,
) = range(21)
N_GRADED_PARAMS = 21
CONV_BLOCK = 64  # a conv group of more than CONV_BLOCK / 4 channels is padded to a multiple of this (see PackedGraded)
ROLE_DELTA, ROLE_SIGMA_DELTA, ROLE_SIGMA = 0, 1, 2
ROLE_CODES = {"delta": ROLE_DELTA, "sigma_delta": ROLE_SIGMA_DELTA, "sigma": ROLE_SIGMA}


@dataclass(frozen=True)
class PackedGraded:
    """The graded kernel's arrays. Sums are int32 that wrap: Lava wraps a dense sum to 32 bits and a conv
    sum to 24, and a sum taken modulo 2**32 is the exact sum modulo 2**32 (and so modulo 2**24); int32
    lanes are twice as many per vector as int64 and multiply natively (AVX2 has no 64-bit multiply).

    A conv accumulates channels-last (output pixel, output channel), so an input message adds, per
    kernel tap that reaches a pixel, one contiguous vector of its group's output-channel weights. A
    group's channels are padded with zero weights to a multiple of CONV_BLOCK (unless it has only a
    few): the kernel then adds vectors of a length known when it is compiled, which the compiler turns
    into whole SIMD adds; at another length, a short loop is compiled to scalar code, slower than
    adding the zero lanes."""

    params: np.ndarray  # (n_layers, N_GRADED_PARAMS) int64
    weights: np.ndarray  # dense effective weights, each layer's transposed to (in, out), int32 (wrapped)
    tap_starts: np.ndarray  # per conv input (c, y, x): its first tap; one end after the last input
    tap_targets: np.ndarray  # per tap: its ring slot (pixel * pixel slots + the group's first slot)
    tap_weights: np.ndarray  # per tap: where its weight vector (one per output channel of the group) starts
    conv_weights: np.ndarray  # the conv weight vectors, (in channel, ky, kx, padded out channel of the group), int32
    column_synapses: np.ndarray
    bias: np.ndarray  # per neuron: int32(bias << (spike_exp + state_exp))
    n_neurons: int
    record_size: int


def _wrap32_array(values: np.ndarray) -> np.ndarray:
    return ((values.astype(np.int64) + 2**31) % 2**32) - 2**31


def _group_slots(layer: ConvLayer) -> int:
    """A conv group's ring slots: its output channels, padded to whole blocks unless it has only a few."""
    per_group = layer.weights.shape[0] // layer.groups
    return -(-per_group // CONV_BLOCK) * CONV_BLOCK if 4 * per_group > CONV_BLOCK else per_group


def _conv_taps(layer: ConvLayer, vector_off: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The conv as channels-last fan-out: per input (c, y, x), the output pixels its kernel taps reach.

    Input (c, y, x) reaches output pixel (i, j) through tap (ky, kx) when y = i * stride_y - pad_y +
    ky * dil_y (same for x); there it adds weights[o, c - group * group_in, ky, kx] to every output
    channel o of c's group. Returns (starts per input + end, ring target, weight-vector offset, vectors)."""
    out_channels, group_in, k_h, k_w = layer.weights.shape
    channels, height, width = layer.in_shape
    _, out_h, out_w = layer.out_shape
    per_group = out_channels // layer.groups
    group_slots = _group_slots(layer)
    raw = _wrap32_array(np.asarray(layer.weights)).reshape(layer.groups, per_group, group_in, k_h, k_w)
    group_of = np.arange(channels) // group_in
    vectors = raw[group_of, :, np.arange(channels) % group_in]  # (channels, per_group, k_h, k_w)
    vectors = vectors.transpose(0, 2, 3, 1)  # (channels, k_h, k_w, per_group)
    nonzero = np.any(vectors != 0, axis=3)
    vectors = np.pad(vectors, [(0, 0)] * 3 + [(0, group_slots - per_group)])
    c, ky, kx, i, j = np.meshgrid(np.arange(channels), np.arange(k_h), np.arange(k_w), np.arange(out_h), np.arange(out_w), indexing="ij")
    y = i * layer.stride[0] - layer.padding[0] + ky * layer.dilation[0]
    x = j * layer.stride[1] - layer.padding[1] + kx * layer.dilation[1]
    keep = (y >= 0) & (y < height) & (x >= 0) & (x < width) & nonzero[c, ky, kx]
    source = ((c * height + y) * width + x)[keep]
    target = ((i * out_w + j) * layer.groups * group_slots + group_of[c] * group_slots)[keep]
    vector = (vector_off + ((c * k_h + ky) * k_w + kx) * group_slots)[keep]
    order = np.lexsort((target, source))
    starts = np.searchsorted(source[order], np.arange(layer.n_in + 1))
    return starts, target[order], vector[order], vectors.ravel()


def pack_graded(network: Network, record_layers: bool) -> PackedGraded:
    n_layers = len(network.layers)
    params = np.zeros((n_layers, N_GRADED_PARAMS), dtype=np.int64)
    weights, col_syn, biases, starts, targets, taps, vectors = [], [], [], [], [], [], []
    w_off = neuron_off = col_off = record_off = start_off = tap_off = vector_off = ring_off = 0
    source_bits = network.message_bits()
    for index, layer in enumerate(network.layers):
        model = layer.sigma_delta
        synapse, layer_w_off, table_off, left, right = SYNAPSE_DRIVE, 0, 0, 0, 0
        ring_slots, pixels, group_out, group_slots = layer.n_out, 0, 0, 0
        if isinstance(layer, DenseLayer):
            synapse = SYNAPSE_DENSE
            weights.append(_wrap32_array(layer.effective_weights().astype(np.int64).T.ravel()))
            layer_w_off, w_off = w_off, w_off + layer.weights.size
            left, right = max(layer.weight_exponent, 0), max(-layer.weight_exponent, 0)
        elif isinstance(layer, ConvLayer):
            synapse = SYNAPSE_TABLE
            layer_starts, layer_targets, layer_taps, layer_vectors = _conv_taps(layer, vector_off)
            starts.append(layer_starts[:-1] + tap_off)
            targets.append(layer_targets)
            taps.append(layer_taps)
            vectors.append(layer_vectors)
            table_off = start_off
            start_off += layer.n_in
            tap_off += layer_targets.size
            vector_off += layer_vectors.size
            pixels = layer.out_shape[1] * layer.out_shape[2]
            group_out, group_slots = layer.out_shape[0] // layer.groups, _group_slots(layer)
            ring_slots = pixels * layer.groups * group_slots
        synapses, _ = layer.fan_out()
        col_syn.append(synapses)
        bias = np.zeros(layer.n_out, dtype=np.int64) if isinstance(layer, InputLayer) else layer.neuron_bias.astype(np.int64)
        biases.append(_wrap32_array(bias << model.scale_exp))
        records = record_layers or index == n_layers - 1
        params[index] = (
            layer.n_out, synapse, layer_w_off, neuron_off, col_off, table_off, left, right,
            ROLE_CODES[model.role], layer.vth << model.scale_exp, model.scale_exp, model.state_exp,
            int(model.activation == "relu"), int(model.cum_error), int(source_bits[index] == 0),
            record_off if records else -1, ring_off, ring_slots, pixels, group_out, group_slots,
        )
        neuron_off += layer.n_out
        col_off += layer.n_in
        ring_off += 2 * ring_slots  # this step's sums and the next's
        if records:
            record_off += layer.n_out
    empty = np.zeros(0, dtype=np.int32)
    return PackedGraded(
        params=params,
        weights=np.concatenate(weights).astype(np.int32) if weights else empty,
        tap_starts=np.concatenate(starts + [np.array([tap_off], dtype=np.int64)]).astype(np.int64),
        tap_targets=np.concatenate(targets).astype(np.int64) if targets else empty.astype(np.int64),
        tap_weights=np.concatenate(taps).astype(np.int64) if taps else empty.astype(np.int64),
        conv_weights=np.concatenate(vectors).astype(np.int32) if vectors else empty,
        column_synapses=np.concatenate(col_syn).astype(np.int64),
        bias=np.concatenate(biases).astype(np.int64),
        n_neurons=neuron_off,
        record_size=record_off,
    )


def _simulate_graded(network: Network, inputs: np.ndarray, record_layers: bool, cache: dict) -> SimulationResult:
    key = ("graded", record_layers)
    if key not in cache:
        cache[key] = pack_graded(network, record_layers)
    packed = cache[key]
    batch, _, steps = inputs.shape
    # the kernel reads and writes one step at a time: time-major arrays keep each step's values together
    by_step = np.zeros((batch, steps, packed.record_size), dtype=np.int32)
    counts = np.zeros((batch, packed.params.shape[0], N_COUNTS), dtype=np.int64)
    _run_graded_batch(
        np.ascontiguousarray(np.asarray(inputs, dtype=np.int64).transpose(0, 2, 1)), packed.params, packed.weights, packed.tap_starts, packed.tap_targets,
        packed.tap_weights, packed.conv_weights, packed.column_synapses, packed.bias, packed.n_neurons, by_step, counts,
    )
    recorded = np.ascontiguousarray(by_step.transpose(0, 2, 1))
    layers = None
    if record_layers:
        bounds = np.cumsum([0] + [layer.n_out for layer in network.layers])
        layers = [recorded[:, start:stop] for start, stop in zip(bounds, bounds[1:])]
        output = layers[-1]
    else:
        output = recorded
    by_name = {name: counts[:, :, COUNT_FIELDS.index(name)] for name in COUNT_FIELDS}
    payload = by_name["input_spikes"] * np.array(network.message_bits(), dtype=np.int64)
    activity = ActivityCounts(**by_name, timesteps=steps, payload_bits=payload)
    return SimulationResult(output=output, layers=layers, counts=activity, backend="numba")


@numba.njit(cache=True, parallel=True)
def _run_graded_batch(inputs, params, weights, tap_starts, tap_targets, tap_weights, conv_weights, column_synapses, bias, n_neurons, recorded, counts):
    for b in numba.prange(inputs.shape[0]):
        _run_graded_sample(
            inputs[b], params, weights, tap_starts, tap_targets, tap_weights, conv_weights, column_synapses, bias, n_neurons, recorded[b], counts[b]
        )


@numba.njit(cache=True, inline="always")
def _scatter_conv(width, ring, due, active, values, n_active, base, tap_starts, tap_targets, tap_weights, conv_weights):
    """Each listed message times its taps' weight vectors (width lanes each), added to the ring."""
    for k in range(n_active):
        source = base + active[k]
        value = values[k]
        for tap in range(tap_starts[source], tap_starts[source + 1]):
            target = np.uint64(due + tap_targets[tap])  # unsigned: no negative-index check, so it vectorizes
            vector = np.uint64(tap_weights[tap])
            for lane in range(np.uint64(width)):
                ring[target + lane] += conv_weights[vector + lane] * value


@numba.njit(cache=True, inline="always")
def _abs32(x):
    """np.abs of an int32 (-2**31 stays -2**31)."""
    return _wrap32(-x if x < 0 else x)


@numba.njit(cache=True, inline="always")
def _graded_neuron(a_in, idx, role, vth, in_shift, state_exp, relu_floor, cum_mask, sigma, act, residue, error, bias):
    """One neuron-step of a Delta, SigmaDelta or Sigma neuron: (its message, whether the step was active).

    Branch-free but for the role (a constant where it is called): about half the neurons of a busy
    layer send, at random, so branches on the data would mispredict. relu_floor is 0 with ReLU, else
    -2**31 (no int32 lies below it); cum_mask is -1 with cum_error, else 0, which keeps error at 0, so
    the accumulated error is the delta itself."""
    if role == ROLE_SIGMA:
        total = _wrap32(a_in + sigma[idx])
        sigma[idx] = total
        return total, a_in != 0
    if role == ROLE_DELTA:
        new_act = _wrap32(a_in << in_shift)
    else:
        total = _wrap32(a_in + sigma[idx])
        sigma[idx] = total
        new_act = max(_wrap32(total + bias[idx]), relu_floor)
    old_act = np.int64(act[idx])
    old_residue = np.int64(residue[idx])
    busy = (a_in != 0) | (old_residue != 0) | (new_act != old_act)
    delta = _wrap32(_wrap32(new_act - old_act) + old_residue)
    accumulated = _wrap32(error[idx] + delta)
    spike = delta if _abs32(accumulated) >= vth else 0
    error[idx] = (0 if spike != 0 else accumulated) & cum_mask
    residue[idx] = _wrap32(delta - spike)
    act[idx] = new_act
    return spike >> state_exp, busy


@numba.njit(cache=True, inline="always")
def _graded_layer(
    role, a_in, n_out, vth, in_shift, state_exp, relu_floor, cum_mask, sigma, act, residue, error, bias, messages, next_active, next_values, next_binary
):
    """A layer's neuron-steps (state arrays: the layer's views): writes each message, lists the non-zero
    ones for the next layer (binary where it takes binary spikes); returns (messages sent, active
    neuron-steps). Neither loop branches on the data."""
    n_busy = 0
    for n in range(n_out):
        message, busy = _graded_neuron(a_in[n], n, role, vth, in_shift, state_exp, relu_floor, cum_mask, sigma, act, residue, error, bias)
        messages[n] = message
        n_busy += busy
    n_next = 0
    for n in range(n_out):  # written always, kept when non-zero: no branch to mispredict on half-active layers
        message = messages[n]
        next_active[n_next] = n
        next_values[n_next] = 1 if next_binary else message
        n_next += message != 0
    return n_next, n_busy


@numba.njit(cache=True)
def _run_graded_sample(inputs, params, weights, tap_starts, tap_targets, tap_weights, conv_weights, column_synapses, bias, n_neurons, recorded, counts):
    n_layers = params.shape[0]
    steps, n_inputs = inputs.shape  # time-major, as is recorded
    # int32 state: every value is an int32 that wraps (Lava's), and half the bytes of int64
    sigma = np.zeros(n_neurons, dtype=np.int32)
    act = np.zeros(n_neurons, dtype=np.int32)
    residue = np.zeros(n_neurons, dtype=np.int32)
    error = np.zeros(n_neurons, dtype=np.int32)
    ring_total = 0
    max_n = n_inputs
    for layer in range(n_layers):
        ring_total += 2 * params[layer, G_RING_SLOTS]
        max_n = max(max_n, params[layer, G_N_OUT])
    ring = np.zeros(ring_total, dtype=np.int32)  # sums modulo 2**32 (see PackedGraded)
    sums = np.zeros(max_n, dtype=np.int32)
    a_in = np.zeros(max_n, dtype=np.int64)  # a layer's input this step
    unrecorded = np.zeros(max_n, dtype=np.int32)  # the messages of a layer that is not recorded
    # the messages a layer receives (which source, what value modulo 2**32), listed by the layer before
    # as it computes them; two lists, as a layer reads one while it fills the other
    active_lists = np.zeros((2, max_n + 1), dtype=np.int64)
    value_lists = np.zeros((2, max_n + 1), dtype=np.int32)
    for t in range(steps):
        n_active = 0
        for layer in range(n_layers):
            p = params[layer]
            n_out = p[G_N_OUT]
            off = p[G_NEURON_OFF]
            synapse = p[G_SYNAPSE]
            now = p[G_RING_OFF] + (t % 2) * p[G_RING_SLOTS]
            due = p[G_RING_OFF] + ((t + 1) % 2) * p[G_RING_SLOTS]
            active = active_lists[layer % 2]
            values = value_lists[layer % 2]
            if layer == 0 and synapse != SYNAPSE_DRIVE:  # a network without an input layer: spikes arrive as they are
                for i in range(n_inputs):
                    if inputs[t, i] != 0:
                        active[n_active] = i
                        values[n_active] = 1 if p[G_SOURCE_BINARY] else inputs[t, i]
                        n_active += 1
            if synapse != SYNAPSE_DRIVE:  # a Delta input reads frame t at step t below
                synaptic_ops = 0
                col_off = p[G_COL_OFF]
                for k in range(n_active):
                    synaptic_ops += column_synapses[col_off + active[k]]
                counts[layer, C_INPUT] += n_active
                counts[layer, C_SYNOPS] += synaptic_ops
            if synapse == SYNAPSE_DENSE:
                for n in range(n_out):
                    sums[n] = 0
                w_off = p[G_W_OFF]
                for k in range(n_active):
                    row = np.uint64(w_off + active[k] * n_out)  # unsigned: no negative-index check, so it vectorizes
                    value32 = values[k]
                    for n in range(np.uint64(n_out)):
                        sums[n] += weights[row + n] * value32
                left = p[G_LEFT_SHIFT]
                right = p[G_RIGHT_SHIFT]
                for n in range(n_out):
                    total = np.int64(sums[n])
                    ring[due + n] = _wrap32(total << left) if left > 0 else total >> right
            elif synapse == SYNAPSE_TABLE:
                base = p[G_TABLE_OFF]
                width = p[G_CONV_GROUP_SLOTS]
                # the width as a constant where it is a padded one (see PackedGraded)
                if width == 64:
                    _scatter_conv(64, ring, due, active, values, n_active, base, tap_starts, tap_targets, tap_weights, conv_weights)
                elif width == 128:
                    _scatter_conv(128, ring, due, active, values, n_active, base, tap_starts, tap_targets, tap_weights, conv_weights)
                else:
                    _scatter_conv(width, ring, due, active, values, n_active, base, tap_starts, tap_targets, tap_weights, conv_weights)
            # --- neurons: this step's input, then each neuron's message, recorded and listed for the next layer ---
            if synapse == SYNAPSE_DRIVE:  # a Delta input: frame t arrives at step t
                for n in range(n_out):
                    a_in[n] = inputs[t, n]
            elif synapse == SYNAPSE_TABLE:  # neuron (channel, pixel) sums channels-last: read in ring order
                pixels = p[G_CONV_PIXELS]
                group_out = p[G_CONV_GROUP_OUT]
                group_slots = p[G_CONV_GROUP_SLOTS]
                groups = n_out // (pixels * group_out)
                block = now
                for pixel in range(pixels):
                    for group in range(groups):
                        for out in range(group_out):
                            a_in[(group * group_out + out) * pixels + pixel] = _wrap(np.int64(ring[block + out]), CONV_SUM_BITS)
                        block += group_slots
                ring[now : now + p[G_RING_SLOTS]] = 0
            else:
                for n in range(n_out):
                    a_in[n] = ring[now + n]
                    ring[now + n] = 0
            record_off = p[G_RECORD_OFF]
            messages = recorded[t, record_off : record_off + n_out] if record_off >= 0 else unrecorded[:n_out]
            end = off + n_out
            next_binary = layer < n_layers - 1 and params[layer + 1, G_SOURCE_BINARY] != 0
            vth, in_shift, state_exp = p[G_VTH], p[G_IN_SHIFT], p[G_STATE_EXP]
            relu_floor = np.int64(0) if p[G_RELU] else np.int64(-2147483648)
            cum_mask = np.int64(-1) if p[G_CUM_ERROR] else np.int64(0)
            next_active, next_values = active_lists[(layer + 1) % 2], value_lists[(layer + 1) % 2]
            # the role as a constant, so each role's loop is compiled without the others' branches
            if p[G_ROLE] == ROLE_DELTA:
                n_next, n_busy = _graded_layer(
                    ROLE_DELTA, a_in, n_out, vth, in_shift, state_exp, relu_floor, cum_mask,
                    sigma[off:end], act[off:end], residue[off:end], error[off:end], bias[off:end], messages, next_active, next_values, next_binary,
                )
            elif p[G_ROLE] == ROLE_SIGMA_DELTA:
                n_next, n_busy = _graded_layer(
                    ROLE_SIGMA_DELTA, a_in, n_out, vth, in_shift, state_exp, relu_floor, cum_mask,
                    sigma[off:end], act[off:end], residue[off:end], error[off:end], bias[off:end], messages, next_active, next_values, next_binary,
                )
            else:
                n_next, n_busy = _graded_layer(
                    ROLE_SIGMA, a_in, n_out, vth, in_shift, state_exp, relu_floor, cum_mask,
                    sigma[off:end], act[off:end], residue[off:end], error[off:end], bias[off:end], messages, next_active, next_values, next_binary,
                )
            counts[layer, C_OUTPUT] += n_next
            counts[layer, C_ACTIVE] += n_busy
            counts[layer, C_INACTIVE] += n_out - n_busy
            n_active = n_next
