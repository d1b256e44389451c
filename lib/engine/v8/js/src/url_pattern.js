// URLPattern (WHATWG URL Pattern), from the npm package urlpattern-polyfill, which parses with the
// runtime's URL.

import {URLPattern} from 'urlpattern-polyfill/urlpattern';

export {URLPattern};
