//! A portable policy as an ONNX model (opset 17): the graph that scores the candidates of
//! one request, the policy's arrays as its initializers, and the rest of the policy (the
//! layout, the layer sizes, the scalars) as JSON in the model's metadata, so that the file
//! alone reads back into the same [`Portable`].

use std::collections::HashMap;

use agents::portable::{Choice, Dense, Portable, Scorer, SlateQNet};

use crate::proto::{fields, Message, Value};
use crate::ExportError;

/// The metadata key of the policy's structure.
pub const META_KEY: &str = "rlrec.policy";
const IR_VERSION: i64 = 8;
const OPSET: i64 = 17;
const FLOAT: i64 = 1;
const INT64: i64 = 7;
const BOOL: i64 = 9;
const DOUBLE: i64 = 11;

/// One of the policy's arrays, by its name in the file.
enum Array<'a> {
    F32(&'a mut Vec<f32>),
    F64(&'a mut Vec<f64>),
}

/// What [`arrays`] calls with each array's name and shape.
type Visit<'v> = dyn FnMut(String, Vec<usize>, Array<'_>) -> Result<(), String> + 'v;

/// Visits every array of the policy with its name and shape: the one list both writing
/// and reading follow.
fn arrays(p: &mut Portable, visit: &mut Visit<'_>) -> Result<(), String> {
    let (u, d) = (p.layout.user_dim, p.layout.doc_dim);
    match &mut p.scorer {
        Scorer::Linear { theta } => visit("theta".into(), vec![u + d], Array::F64(theta)),
        Scorer::SlateQ(net) => {
            dense("item_net", &mut net.item_net, visit)?;
            if let Some(state) = &mut net.state_net {
                dense("state_net", state, visit)?;
            }
            visit("user_mean".into(), vec![u], Array::F32(&mut net.user_mean))?;
            visit("user_sd".into(), vec![u], Array::F32(&mut net.user_sd))?;
            visit("doc_mean".into(), vec![d], Array::F32(&mut net.doc_mean))?;
            visit("doc_sd".into(), vec![d], Array::F32(&mut net.doc_sd))?;
            if let Choice::Logit { w, a, c, .. } = &mut net.choice {
                visit("choice.w".into(), vec![u, d], Array::F32(w))?;
                visit("choice.a".into(), vec![d], Array::F32(a))?;
                visit("choice.c".into(), vec![u], Array::F32(c))?;
            }
            Ok(())
        }
    }
}

fn dense(prefix: &str, layers: &mut [Dense], visit: &mut Visit<'_>) -> Result<(), String> {
    for (l, layer) in layers.iter_mut().enumerate() {
        let (i, o) = (layer.inputs, layer.outputs);
        visit(
            format!("{prefix}.{l}.weights"),
            vec![i, o],
            Array::F32(&mut layer.weights),
        )?;
        visit(
            format!("{prefix}.{l}.bias"),
            vec![o],
            Array::F32(&mut layer.bias),
        )?;
    }
    Ok(())
}

/// Builds the graph's nodes and initializers.
#[derive(Default)]
struct Graph {
    nodes: Vec<Message>,
    initializers: Vec<Message>,
    count: usize,
}

impl Graph {
    fn tensor(&mut self, name: &str, dims: &[usize], kind: i64, raw: Vec<u8>) -> String {
        let mut t = Message::new();
        for &dim in dims {
            t = t.int(1, dim as i64);
        }
        let t = t.int(2, kind).string(8, name).bytes(9, &raw);
        self.initializers.push(t);
        name.to_string()
    }

    fn floats(&mut self, name: &str, dims: &[usize], values: &[f32]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensor(name, dims, FLOAT, raw)
    }

    fn ints(&mut self, name: &str, values: &[i64]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensor(name, &[values.len()], INT64, raw)
    }

    /// A node with one output, named after its operator and count.
    fn op(&mut self, op: &str, inputs: &[&str], attributes: &[(&str, i64)]) -> String {
        self.count += 1;
        let output = format!("{}_{}", op.to_lowercase(), self.count);
        self.op_to(op, inputs, attributes, &output)
    }

    fn op_to(
        &mut self,
        op: &str,
        inputs: &[&str],
        attributes: &[(&str, i64)],
        out: &str,
    ) -> String {
        let mut node = Message::new();
        for input in inputs {
            node = node.string(1, input);
        }
        node = node.string(2, out).string(3, out).string(4, op);
        for (name, value) in attributes {
            let attribute = Message::new().string(1, name).int(3, *value).int(20, 2);
            node = node.message(5, &attribute);
        }
        self.nodes.push(node);
        out.to_string()
    }

    /// `x·W + b` for each dense layer, ReLU between them.
    fn mlp(&mut self, x: &str, prefix: &str, layers: &[Dense]) -> String {
        let mut h = x.to_string();
        for l in 0..layers.len() {
            let product = self.op("MatMul", &[&h, &format!("{prefix}.{l}.weights")], &[]);
            h = self.op("Add", &[&product, &format!("{prefix}.{l}.bias")], &[]);
            if l + 1 < layers.len() {
                h = self.op("Relu", &[&h], &[]);
            }
        }
        h
    }
}

fn value_info(name: &str, dims: &[Result<usize, &str>]) -> Message {
    let mut shape = Message::new();
    for dim in dims {
        let d = match dim {
            Ok(v) => Message::new().int(1, *v as i64),
            Err(param) => Message::new().string(2, param),
        };
        shape = shape.message(1, &d);
    }
    let tensor = Message::new().int(1, FLOAT).message(2, &shape);
    let ty = Message::new().message(1, &tensor);
    Message::new().string(1, name).message(2, &ty)
}

/// The ONNX model of `policy`: inputs `user` (`user_dim`, absent where it is 0) and
/// `items` (`candidates × doc_dim`), outputs `scores` (linear: one per candidate) or
/// `values` and, where the choice model has them, `weights` (SlateQ: the candidates', then
/// no click's).
pub fn write(policy: &Portable) -> Result<Vec<u8>, ExportError> {
    policy.check()?;
    let mut skeleton = policy.clone();
    let mut g = Graph::default();
    arrays(&mut skeleton, &mut |name, dims, array| {
        match array {
            Array::F32(v) => g.floats(&name, &dims, &std::mem::take(v)),
            Array::F64(v) => {
                let raw = std::mem::take(v)
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .collect();
                g.tensor(&name, &dims, DOUBLE, raw)
            }
        };
        Ok(())
    })
    .expect("taking an array cannot fail");
    let (u, d) = (policy.layout.user_dim, policy.layout.doc_dim);
    let mut inputs = Vec::new();
    if u > 0 {
        inputs.push(value_info("user", &[Ok(u)]));
    }
    inputs.push(value_info("items", &[Err("candidates"), Ok(d)]));
    let outputs = match &policy.scorer {
        Scorer::Linear { .. } => {
            let theta = g.op("Cast", &["theta"], &[("to", FLOAT)]);
            let (at_u, at_end) = (
                g.ints("const.u", &[u as i64]),
                g.ints("const.end", &[(u + d) as i64]),
            );
            let docs = g.op("Slice", &[&theta, &at_u, &at_end], &[]);
            let items = g.op("MatMul", &["items", &docs], &[]);
            if u > 0 {
                let zero = g.ints("const.zero", &[0]);
                let users = g.op("Slice", &[&theta, &zero, &at_u], &[]);
                let user = g.op("MatMul", &["user", &users], &[]);
                g.op_to("Add", &[&items, &user], &[], "scores");
            } else {
                g.op_to("Identity", &[&items], &[], "scores");
            }
            vec![value_info("scores", &[Err("candidates")])]
        }
        Scorer::SlateQ(net) => slateq(&mut g, policy, net)?,
    };
    let mut graph = Message::new();
    for node in &g.nodes {
        graph = graph.message(1, node);
    }
    graph = graph.string(2, &format!("rlrec {}", policy.algorithm));
    for init in &g.initializers {
        graph = graph.message(5, init);
    }
    for input in &inputs {
        graph = graph.message(11, input);
    }
    for output in &outputs {
        graph = graph.message(12, output);
    }
    let skeleton = serde_json::to_string(&skeleton).expect("a policy serialises");
    let meta = Message::new().string(1, META_KEY).string(2, &skeleton);
    let opset = Message::new().string(1, "").int(2, OPSET);
    Ok(Message::new()
        .int(1, IR_VERSION)
        .string(2, "rlrec")
        .string(3, env!("CARGO_PKG_VERSION"))
        .message(7, &graph)
        .message(8, &opset)
        .message(14, &meta)
        .into_bytes())
}

/// SlateQ's graph: the observation read as the agent stores it, standardised, the item
/// network over every candidate and no click, the state network, the choice weights.
fn slateq(g: &mut Graph, p: &Portable, net: &SlateQNet) -> Result<Vec<Message>, ExportError> {
    let (u, d) = (p.layout.user_dim, p.layout.doc_dim);
    if u == 0 {
        return Err(ExportError::Unsupported(
            "SlateQ without user features (the item network reads them)".into(),
        ));
    }
    let mut user = "user".to_string();
    if let Some(t) = p.layout.time {
        let steps = t.steps as f32;
        let (scale, one) = (
            g.floats("const.steps", &[], &[steps]),
            g.floats("const.one", &[], &[1.0]),
        );
        // As `log_time` computes it.
        let denominator = g.floats("const.log_steps", &[], &[(1.0 + steps).ln()]);
        let mask: Vec<u8> = (0..u).map(|i| u8::from(i == t.index)).collect();
        let mask = g.tensor("const.time_mask", &[u], BOOL, mask);
        let scaled = g.op("Mul", &["user", &scale], &[]);
        let shifted = g.op("Add", &[&scaled, &one], &[]);
        let log = g.op("Log", &[&shifted], &[]);
        let logged = g.op("Div", &[&log, &denominator], &[]);
        user = g.op("Where", &[&mask, &logged, "user"], &[]);
    }
    let stored = user.clone();
    let centred = g.op("Sub", &[&user, "user_mean"], &[]);
    let standard = g.op("Div", &[&centred, "user_sd"], &[]);
    let capped = match (p.layout.time, net.time_ceiling) {
        (Some(t), Some(ceiling)) => {
            let caps: Vec<f32> = (0..u)
                .map(|i| if i == t.index { ceiling } else { f32::INFINITY })
                .collect();
            let caps = g.floats("const.time_cap", &[u], &caps);
            g.op("Min", &[&standard, &caps], &[])
        }
        _ => standard.clone(),
    };
    let centred = g.op("Sub", &["items", "doc_mean"], &[]);
    let items = g.op("Div", &[&centred, "doc_sd"], &[]);
    // [N, u + d + 1] candidate rows, then the no-click row.
    let shape = g.op("Shape", &["items"], &[]);
    let (zero, one) = (g.ints("const.i0", &[0]), g.ints("const.i1", &[1]));
    let n = g.op("Slice", &[&shape, &zero, &one], &[]);
    let u_dim = g.ints("const.user_dim", &[u as i64]);
    let n_by_u = g.op("Concat", &[&n, &u_dim], &[("axis", 0)]);
    let n_by_1 = g.op("Concat", &[&n, &one], &[("axis", 0)]);
    let row = g.op("Unsqueeze", &[&capped, &zero], &[]);
    let users = g.op("Expand", &[&row, &n_by_u], &[]);
    let zero_cell = g.floats("const.zero_cell", &[1, 1], &[0.0]);
    let flags = g.op("Expand", &[&zero_cell, &n_by_1], &[]);
    let candidates = g.op("Concat", &[&users, &items, &flags], &[("axis", 1)]);
    let mut tail = vec![0.0; d + 1];
    tail[d] = 1.0;
    let tail = g.floats("const.no_click", &[1, d + 1], &tail);
    let no_click = g.op("Concat", &[&row, &tail], &[("axis", 1)]);
    let rows = g.op("Concat", &[&candidates, &no_click], &[("axis", 0)]);
    let q = g.mlp(&rows, "item_net", &net.item_net);
    let mut values = g.op("Squeeze", &[&q, &one], &[]);
    if let Some(state) = &net.state_net {
        let v = g.mlp(&standard, "state_net", state);
        values = g.op("Add", &[&values, &v], &[]);
    }
    g.op_to("Identity", &[&values], &[], "values");
    let mut outputs = vec![value_info("values", &[Err("candidates + 1")])];
    let weights = match &net.choice {
        Choice::FirstPosition => None,
        Choice::Proportional {
            no_click_mass,
            min_normalizer,
        } => {
            let m = u.min(d) as i64;
            let to_m = g.ints("const.shared_dim", &[m]);
            let user_m = g.op("Slice", &[&stored, &zero, &to_m], &[]);
            let items_m = g.op("Slice", &["items", &zero, &to_m, &one], &[]);
            let score = g.op("MatMul", &[&items_m, &user_m], &[]);
            let floor = g.floats("const.min_normalizer", &[], &[*min_normalizer as f32]);
            let shifted = g.op("Sub", &[&score, &floor], &[]);
            let zero_f = g.floats("const.zero_f", &[], &[0.0]);
            let w = g.op("Max", &[&shifted, &zero_f], &[]);
            let null = g.floats(
                "const.no_click_weight",
                &[1],
                &[(no_click_mass - min_normalizer) as f32],
            );
            Some(g.op("Concat", &[&w, &null], &[("axis", 0)]))
        }
        Choice::Logit { b, .. } => {
            let product = g.op("MatMul", &[&standard, "choice.w"], &[]);
            let per_doc = g.op("Add", &[&product, "choice.a"], &[]);
            let s = g.op("MatMul", &[&items, &per_doc], &[]);
            let dot = g.op("MatMul", &[&standard, "choice.c"], &[]);
            let b = g.floats("const.choice_b", &[1], &[*b]);
            let s0 = g.op("Add", &[&b, &dot], &[]);
            let all = g.op("Concat", &[&s, &s0], &[("axis", 0)]);
            Some(g.op("Exp", &[&all], &[]))
        }
    };
    if let Some(w) = weights {
        g.op_to("Identity", &[&w], &[], "weights");
        outputs.push(value_info("weights", &[Err("candidates + 1")]));
    }
    Ok(outputs)
}

/// Reads back a model [`write()`] wrote; anything else is refused with the reason.
pub fn read(bytes: &[u8]) -> Result<Portable, ExportError> {
    let bad = |why: String| ExportError::NotOurs(why);
    let mut skeleton = None;
    let mut tensors: HashMap<String, (Vec<usize>, i64, &[u8])> = HashMap::new();
    for field in fields(bytes) {
        match field.map_err(bad)? {
            (14, Value::Bytes(entry)) => {
                let (mut key, mut value) = (None, None);
                for f in fields(entry) {
                    match f.map_err(bad)? {
                        (1, Value::Bytes(k)) => key = Some(k),
                        (2, Value::Bytes(v)) => value = Some(v),
                        _ => {}
                    }
                }
                if key == Some(META_KEY.as_bytes()) {
                    skeleton = value;
                }
            }
            (7, Value::Bytes(graph)) => {
                for f in fields(graph) {
                    let (5, Value::Bytes(tensor)) = f.map_err(bad)? else {
                        continue;
                    };
                    let (mut dims, mut kind, mut name, mut raw) = (Vec::new(), 0, None, &[][..]);
                    for f in fields(tensor) {
                        match f.map_err(bad)? {
                            (1, Value::Int(v)) => dims.push(
                                usize::try_from(v)
                                    .map_err(|_| bad("a dimension out of range".into()))?,
                            ),
                            (2, Value::Int(v)) => kind = v as i64,
                            (8, Value::Bytes(v)) => {
                                name = Some(String::from_utf8_lossy(v).into_owned())
                            }
                            (9, Value::Bytes(v)) => raw = v,
                            _ => {}
                        }
                    }
                    if let Some(name) = name {
                        tensors.insert(name, (dims, kind, raw));
                    }
                }
            }
            _ => {}
        }
    }
    let skeleton = skeleton.ok_or_else(|| {
        bad(format!(
            "no `{META_KEY}` metadata: not a model rlrec exported"
        ))
    })?;
    let mut policy: Portable = serde_json::from_slice(skeleton)
        .map_err(|e| bad(format!("its `{META_KEY}` metadata does not read: {e}")))?;
    arrays(&mut policy, &mut |name, dims, array| {
        let (found, kind, raw) = tensors
            .get(&name)
            .ok_or_else(|| format!("the initializer `{name}` is missing"))?;
        let count: usize = dims.iter().product();
        let width = match array {
            Array::F32(_) => (FLOAT, 4),
            Array::F64(_) => (DOUBLE, 8),
        };
        if *found != dims || *kind != width.0 || raw.len() != count * width.1 {
            return Err(format!(
                "the initializer `{name}` has another shape or type than {dims:?}"
            ));
        }
        match array {
            Array::F32(v) => {
                *v = raw
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().expect("4")))
                    .collect()
            }
            Array::F64(v) => {
                *v = raw
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().expect("8")))
                    .collect()
            }
        }
        Ok(())
    })
    .map_err(bad)?;
    policy.check()?;
    Ok(policy)
}
