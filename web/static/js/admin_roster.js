// The roster's search as one types (/admin/groups/{id}): the server finds a few matching people
// of the network not yet on the roster; each comes with its own "add" form, so adding is the
// same plain form post with or without this script.
const input = document.querySelector("input[data-suggest]");
const list = document.getElementById("roster-found");

function row(person) {
  const li = document.createElement("li");
  li.className = "row-line";
  const who = document.createElement("span");
  const name = document.createElement("bdi");
  name.textContent = person.name;
  who.append(name);
  if (person.organization) {
    const org = document.createElement("small");
    org.className = "muted";
    const orgName = document.createElement("bdi");
    orgName.textContent = person.organization;
    org.append(" · ", orgName);
    who.append(" ", org);
  }
  const form = document.createElement("form");
  form.method = "post";
  form.action = list.dataset.add;
  form.className = "inline";
  // The search goes along, so the page comes back to it after the person is added.
  const fields = [["csrf", list.dataset.csrf], ["person_id", String(person.id)], ["q", input.value.trim()]];
  for (const [field, value] of fields) {
    const hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = field;
    hidden.value = value;
    form.append(hidden);
  }
  const button = document.createElement("button");
  button.type = "submit";
  button.textContent = list.dataset.addLabel;
  form.append(button);
  li.append(who, form);
  return li;
}

let timer = null;
let asked = 0;
async function suggest() {
  const query = input.value.trim();
  const mine = ++asked;
  if (!query) {
    list.replaceChildren();
    return;
  }
  const url = `${input.dataset.suggest}?q=${encodeURIComponent(query)}`;
  const answer = await fetch(url, { headers: { accept: "application/json" } });
  if (!answer.ok || mine !== asked) return;
  const { people } = await answer.json();
  if (people.length) {
    list.replaceChildren(...people.map(row));
  } else {
    const none = document.createElement("li");
    none.className = "muted";
    none.textContent = list.dataset.none;
    list.replaceChildren(none);
  }
}

if (input && list) {
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(suggest, 200);
  });
}
