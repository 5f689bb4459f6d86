// The stepper of chainrule's derivation page. It only shows: every number, formula and label
// comes from the JSON that Python wrote into the page (chainrule/explanation/html_page.py).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chainrule-data").textContent);
  var forward = data.forward, backward = data.backward;
  var last = forward.length + backward.length;
  var step = 0;
  var panel = document.getElementById("panel");
  var svg = document.getElementById("graph");
  var area = document.getElementById("graph-area");
  var nodes = data.nodes.map(function (_, i) { return document.getElementById("node-" + i); });
  var edges = Array.prototype.slice.call(svg.querySelectorAll(".edge"));
  var computedAt = {};  // node → the forward step that computes it
  forward.forEach(function (entry, k) { computedAt[entry.node] = k + 1; });

  function element(tag, className, text) {
    var made = document.createElement(tag);
    if (className) made.className = className;
    if (text !== undefined) made.textContent = text;
    return made;
  }

  function mathml(markup, className) {  // MathML written by chainrule in Python, names escaped there
    var holder = element("div", className || "math");
    holder.innerHTML = markup;
    return holder;
  }

  function table(rows, className) {
    var made = element("table", className || "matrix");
    rows.forEach(function (row) {
      var tr = element("tr");
      row.forEach(function (cell) { tr.appendChild(element("td", "number", cell)); });
      made.appendChild(tr);
    });
    return made;
  }

  function valueView(view, className) {
    if (view.text !== undefined) return element("span", "number " + (className || ""), view.text);
    var holder = element("div", "tensor " + (className || ""));
    if (view.summary === undefined) {
      holder.appendChild(element("div", "shape", view.shape));
      holder.appendChild(table(view.rows));
      return holder;
    }
    holder.appendChild(element("div", "summary", view.summary));
    var details = element("details");
    details.appendChild(element("summary", null, "expand"));
    details.appendChild(table(view.rows));
    if (view.more > 0) details.appendChild(element("p", "more", view.more + " more numbers not written out"));
    holder.appendChild(details);
    return holder;
  }

  function labelled(label, view, className) {
    var row = element("div", "labelled");
    row.appendChild(element("span", "label", label));
    row.appendChild(valueView(view, className));
    return row;
  }

  function show(at) {
    step = Math.max(0, Math.min(last, at));
    var inBackward = step > forward.length;
    var b = step - forward.length - 1;  // the backward step shown, when in the backward pass
    var entry = step === 0 ? null : (inBackward ? backward[b] : forward[step - 1]);
    var current = entry ? entry.node : -1;
    var receiving = {};
    if (inBackward) entry.contributions.forEach(function (part) { receiving[part.node] = true; });
    nodes.forEach(function (node, i) {
      var reached = computedAt[i] === undefined || computedAt[i] <= step;
      node.classList.toggle("reached", reached);
      node.classList.toggle("current", i === current);
      node.classList.toggle("receiving", !!receiving[i]);
      var stages = node.querySelectorAll(".grad");
      var latest = -1;
      stages.forEach(function (stage, k) { if (inBackward && Number(stage.dataset.step) <= b) latest = k; });
      stages.forEach(function (stage, k) { stage.classList.toggle("shown", k === latest); });
    });
    edges.forEach(function (edge) {
      var active = Number(edge.dataset.to) === current;
      edge.classList.toggle("active", active);
      edge.classList.toggle("backward", active && inBackward);
    });
    if (current >= 0) reveal(nodes[current]);
    document.getElementById("position").textContent = step === 0
      ? "start: the inputs and parameters"
      : (inBackward ? "backward " + (b + 1) + " of " + backward.length
                    : "forward " + step + " of " + forward.length);
    document.body.dataset.phase = step === 0 ? "start" : (inBackward ? "backward" : "forward");
    panel.replaceChildren(step === 0 ? startPanel() : (inBackward ? backwardPanel(entry, b) : forwardPanel(entry)));
  }

  function fit() {  // shrink a graph a little wider than its area to fit it; a much wider one scrolls instead
    var natural = Number(svg.getAttribute("width"));
    var ratio = area.clientWidth / natural;
    var fits = ratio < 1 && ratio >= 0.6;
    svg.style.width = fits ? "100%" : "";
    svg.style.height = fits ? "auto" : "";
  }

  function reveal(node) {  // scroll the graph only when the node is out of sight, and then to its middle
    var box = node.getBoundingClientRect(), view = area.getBoundingClientRect();
    if (box.left < view.left || box.right > view.right) {
      area.scrollLeft += (box.left + box.right) / 2 - (view.left + view.right) / 2;
    }
    if (box.top < view.top || box.bottom > view.bottom) {
      area.scrollTop += (box.top + box.bottom) / 2 - (view.top + view.bottom) / 2;
    }
  }

  function startPanel() {
    var holder = element("div");
    holder.appendChild(element("h2", null, "Start"));
    holder.appendChild(element("p", null,
      "The graph of " + data.loss + ", from its inputs and parameters (left) to the loss (right). Press → or next " +
      "to compute it one op at a time; then the backward pass carries ∂" + data.loss + "/∂node back to the leaves."));
    return holder;
  }

  function forwardPanel(entry) {
    var holder = element("div", "forward-step");
    holder.appendChild(element("h2", null, "Forward: " + entry.title));
    holder.appendChild(element("p", "op", "op: " + entry.op));
    holder.appendChild(mathml(entry.math));
    entry.inputs.forEach(function (input) { holder.appendChild(labelled(input.name + " =", input.value, "input")); });
    holder.appendChild(labelled(data.nodes[entry.node].name + " =", entry.value, "result"));
    return holder;
  }

  function backwardPanel(entry, b) {
    var holder = element("div", "backward-step");
    var name = data.nodes[entry.node].name;
    holder.appendChild(element("h2", null, "Backward: " + entry.title));
    holder.appendChild(element("p", "op", "op: " + entry.op));
    holder.appendChild(mathml(entry.math));
    holder.appendChild(element("h3", null, "Local derivative rule"));
    var rule = mathml(entry.rule_math, "math rule");
    rule.title = entry.rule;
    holder.appendChild(rule);
    holder.appendChild(element("h3", null, "Upstream gradient"));
    var upstream = labelled("∂" + data.loss + "/∂" + name + " =", entry.upstream, "upstream");
    holder.appendChild(upstream);
    if (entry.paths > 1) {
      holder.appendChild(element("p", "note", name + " was used by " + entry.paths +
        " ops: this is the sum of their contributions, now complete."));
    }
    entry.contributions.forEach(function (part) {
      var section = element("section", "contribution");
      section.dataset.name = part.name;
      section.appendChild(element("h3", null, "Into " + part.name));
      if (part.local) section.appendChild(mathml(part.math));
      else section.appendChild(element("p", "note",
        "upstream gradient pulled back through " + entry.title + " (the op's vector-Jacobian product):"));
      section.appendChild(labelled("upstream ∂" + data.loss + "/∂" + name, entry.upstream, "upstream"));
      if (part.local) section.appendChild(labelled("local ∂" + name + "/∂" + part.name, part.local, "local"));
      section.appendChild(labelled("contribution", part.value, "contribution"));
      if (part.axes.length) {
        section.appendChild(element("p", "unbroadcast", part.name + " was broadcast to the shape " + part.broadcast_from +
          ": its contribution is summed over axis " + part.axes.join(", ") + " of that shape"));
      }
      if (part.uses > 1) {
        section.appendChild(element("p", "accumulation", part.name + " is used " + part.uses + " times: contribution " +
          part.received + " of " + part.uses + (part.received === part.uses ? ", the last" : "") + "; the sum so far:"));
        section.appendChild(labelled("∂" + data.loss + "/∂" + part.name + (part.received === part.uses ? " =" : " so far ="),
          part.total, "total"));
      }
      holder.appendChild(section);
    });
    (entry.check || []).forEach(function (failure) {
      var box = element("section", "check-failed");
      box.appendChild(element("h3", null, "✗ " + failure.op + ": backward disagrees with finite differences"));
      box.appendChild(element("p", null, "for its input " + failure.input + " at element " + failure.element +
        ", checked on its own with a random upstream gradient (check_graph), so these numbers are not the" +
        " contribution shown above"));
      Object.keys(failure.values).forEach(function (label) {
        box.appendChild(labelled(label, {text: failure.values[label]}, "check-value"));
      });
      failure.notes.forEach(function (note) { box.appendChild(element("p", "note", note)); });
      holder.appendChild(box);
    });
    if (b === backward.length - 1) holder.appendChild(element("p", "note", "Done: every gradient is complete."));
    return holder;
  }

  function expand(event) {
    var target = event.target.closest ? event.target.closest(".expand") : null;
    if (!target) return;
    var node = target.closest(".node");
    var i = Number(node.dataset.index);
    var role = target.dataset.expand;
    var view = role === "value" ? data.nodes[i].value : data.stages[i][Number(target.closest(".grad") ?
      Array.prototype.indexOf.call(node.querySelectorAll(".grad"), target.closest(".grad")) : 0)].value;
    var holder = element("section", "expanded");
    holder.appendChild(element("h3", null, (role === "value" ? "" : "∂" + data.loss + "/∂") + data.nodes[i].name +
      ", shape " + view.shape));
    holder.appendChild(element("p", "summary", view.summary));
    holder.appendChild(table(view.rows));
    if (view.more > 0) holder.appendChild(element("p", "more", view.more + " more numbers not written out"));
    panel.prepend(holder);
  }

  function on(id, handler) { document.getElementById(id).addEventListener("click", handler); }
  on("first", function () { show(0); });
  on("prev", function () { show(step - 1); });
  on("next", function () { show(step + 1); });
  on("last", function () { show(last); });
  on("to-backward", function () { show(forward.length + 1); });
  on("print-toggle", function () { document.body.classList.toggle("printing"); });
  svg.addEventListener("click", expand);
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var moves = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1};
    if (event.key in moves) show(step + moves[event.key]);
    else if (event.key === "Home") show(0);
    else if (event.key === "End") show(last);
    else return;
    event.preventDefault();
  });
  window.addEventListener("resize", fit);
  fit();
  show(0);
})();
