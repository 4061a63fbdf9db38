// The developer portal: Swagger UI over the gateway's merged document (no inline script, no CDN).
// When the portal needs credentials, the key typed here is sent with the document's request only;
// "Authorize" in Swagger UI sets the credentials of the calls made with "Try it out".
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var form = document.getElementById("portal-key");
  var input = document.getElementById("portal-key-input");
  var documentUrl = root.dataset.url;

  function show(key) {
    window.ui = SwaggerUIBundle({
      url: documentUrl,
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "BaseLayout",
      tryItOutEnabled: false,
      requestInterceptor: function (request) {
        if (key && request.url.indexOf(documentUrl) !== -1) {
          request.headers.Authorization = "Bearer " + key;
        }
        return request;
      },
    });
  }

  if (root.dataset.requireAuth === "1") {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      show(input.value.trim());
    });
  } else {
    show("");
  }
})();
