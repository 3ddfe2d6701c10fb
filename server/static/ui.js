/* sitegraph query page: YASGUI set up for this server only.
 *
 * - the endpoint is this server's /sparql (absolute URL made from the page's own address);
 * - the example queries (from queries/*.rq, sent by the server in #sitegraph-config) open as editor tabs;
 * - the editor knows the project's prefixes: typing `sg:` adds `PREFIX sg: <…>`, and they shorten result IRIs;
 * - nothing is fetched from elsewhere: the prefix.cc and LOV (Linked Open Vocabularies) autocompleters and the
 *   endpoint catalogue (DBpedia, Wikidata) are replaced or switched off; the page's CSP enforces the rest;
 * - links to entity IRIs in the results lead to this server's entity pages (/id/<kind>/<slug>).
 */
(function () {
  "use strict";

  var configEl = document.getElementById("sitegraph-config");
  var root = document.getElementById("yasgui");
  if (!configEl || !root || typeof window.Yasgui === "undefined") {
    return;
  }
  var config = JSON.parse(configEl.textContent);
  var Yasgui = window.Yasgui;
  var Yasqe = Yasgui.Yasqe;
  var endpoint = new URL(config.endpoint, window.location.href).href;
  var examples = {};
  config.examples.forEach(function (example) {
    examples[example.name] = example;
  });
  var prefixLines = Object.keys(config.prefixes)
    .sort()
    .map(function (prefix) {
      return prefix + ": <" + config.prefixes[prefix] + ">";
    });

  // Offline autocompletion: variables, and the project's prefixes instead of prefix.cc's list.
  Yasqe.forkAutocompleter(
    "prefixes",
    { name: "sitegraphPrefixes", get: prefixLines, persistenceId: "sitegraph-prefixes" },
    false
  );
  ["property", "class"].forEach(function (name) {
    // these ask lov.linkeddata.es; keep them registered (so nothing breaks) but answering nothing
    if (Yasqe.Autocompleters[name]) {
      Yasqe.Autocompleters[name] = Object.assign({}, Yasqe.Autocompleters[name], {
        get: function () {
          return Promise.resolve([]);
        },
      });
    }
  });
  var completers = ["variables", "sitegraphPrefixes"];
  // lodash's merge (used by YASGUI for its configuration) merges arrays index by index: set the defaults.
  Yasqe.defaults.autocompleters = completers.slice();
  Yasqe.defaults.prefixCcApi = null;
  Yasgui.defaults.yasqe.autocompleters = completers.slice();
  Yasgui.defaults.yasqe.prefixCcApi = null;

  var requestConfig = {
    endpoint: endpoint,
    method: "POST",
    acceptHeaderSelect: "application/sparql-results+json,*/*;q=0.9",
    acceptHeaderGraph: "text/turtle,*/*;q=0.9",
  };
  Yasgui.defaults.requestConfig = Object.assign({}, Yasgui.defaults.requestConfig, requestConfig);

  var yasgui = new Yasgui(root, {
    persistenceId: "sitegraph",
    requestConfig: requestConfig,
    copyEndpointOnNewTab: false,
    endpointCatalogueOptions: {
      getData: function () {
        return [{ endpoint: endpoint }];
      },
    },
    // a shared link (?query=…&endpoint=…) may only ever ask this server
    populateFromUrl: function (tabConfig) {
      tabConfig.requestConfig = Object.assign({}, tabConfig.requestConfig, { endpoint: endpoint });
      return tabConfig;
    },
    yasqe: {
      value: config.starter,
      autocompleters: completers.slice(),
      prefixCcApi: null,
    },
    yasr: {
      prefixes: config.prefixes,
    },
  });
  window.sitegraphYasgui = yasgui;

  function tabs() {
    return Object.keys(yasgui._tabs || {}).map(function (id) {
      return yasgui.getTab(id);
    });
  }

  function openExample(name, run) {
    var example = examples[name];
    if (!example) {
      return null;
    }
    var tab = tabs().find(function (t) {
      return t && t.getName() === example.title && t.getQuery && t.getQuery() === example.query;
    });
    if (tab) {
      yasgui.selectTabId(tab.getId());
    } else {
      tab = yasgui.addTab(true, {
        name: yasgui.createTabName(example.title),
        yasqe: { value: example.query },
        requestConfig: Object.assign({}, requestConfig),
      });
    }
    if (run) {
      tab.query().catch(function (error) {
        console.warn("query failed", error);
      });
    }
    return tab;
  }
  window.sitegraphOpenExample = openExample;

  document.querySelectorAll("button.sg-open, button.sg-run").forEach(function (button) {
    button.addEventListener("click", function () {
      openExample(button.getAttribute("data-example"), button.classList.contains("sg-run"));
    });
  });

  // "Insert prefixes": PREFIX lines for the known prefixes the current query uses but does not declare.
  var OPAQUE = /'''[\s\S]*?'''|"""[\s\S]*?"""|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|<[^<>"{}|^`\\\s]*>|#[^\n]*/g;
  var insertButton = document.getElementById("sg-insert-prefixes");
  if (insertButton) {
    insertButton.addEventListener("click", function () {
      var tab = yasgui.getTab();
      var yasqe = tab && tab.getYasqe();
      if (!yasqe) {
        return;
      }
      var text = yasqe.getValue().replace(OPAQUE, " ");
      var declared = yasqe.getPrefixesFromQuery();
      var missing = {};
      Object.keys(config.prefixes).forEach(function (prefix) {
        var used = new RegExp("(^|[^\\w:?$-])" + prefix.replace(/[-]/g, "\\-") + ":").test(text);
        if (used && !(prefix in declared)) {
          missing[prefix] = config.prefixes[prefix];
        }
      });
      if (Object.keys(missing).length) {
        yasqe.addPrefixes(missing);
      }
    });
  }

  // Entity IRIs under the base dereference on this server: link to the local page, not to the public address.
  var entityBase = config.entityBase;
  function localise(element) {
    element.querySelectorAll("a[href^='" + entityBase + "']").forEach(function (a) {
      a.setAttribute("href", "/id/" + a.getAttribute("href").slice(entityBase.length));
      a.removeAttribute("target");
    });
  }
  new MutationObserver(function () {
    localise(root);
  }).observe(root, { childList: true, subtree: true });
  localise(root);
})();
