import { lazy, Suspense } from "react";
import { Navigate, Route, Routes } from "react-router-dom";
import { screensFor } from "./auth/permissions";
import { useSession } from "./auth/AuthContext";
import { Layout } from "./components/Layout";
import { AskScreen } from "./screens/ask/AskScreen";
import { DeadLettersScreen } from "./screens/deadletters/DeadLettersScreen";
import { DocumentScreen } from "./screens/documents/DocumentScreen";
import { DocumentsScreen } from "./screens/documents/DocumentsScreen";
import { HealthScreen } from "./screens/health/HealthScreen";
import { KeysScreen } from "./screens/keys/KeysScreen";
import { SearchScreen } from "./screens/search/SearchScreen";
import { TenantScreen } from "./screens/tenants/TenantScreen";
import { TenantsScreen } from "./screens/tenants/TenantsScreen";
import { NotFoundScreen } from "./screens/NotFoundScreen";

/** Usage loads its charting library only when opened (most of the bundle's weight). */
const UsageScreen = lazy(async () => ({
  default: (await import("./screens/usage/UsageScreen")).UsageScreen,
}));

/** Only the routes of screens this credential may use exist; any other path is "not found". */
export function AppRoutes() {
  const { who } = useSession();
  const allowed = new Set(screensFor(who).map((screen) => screen.path));
  const home = screensFor(who)[0]?.path ?? "/none";
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<Navigate to={home} replace />} />
        {allowed.has("/tenants") && (
          <>
            <Route path="tenants" element={<TenantsScreen />} />
            <Route path="tenants/:tenantId" element={<TenantScreen />} />
          </>
        )}
        {allowed.has("/dead-letters") && <Route path="dead-letters" element={<DeadLettersScreen />} />}
        {allowed.has("/health") && <Route path="health" element={<HealthScreen />} />}
        {allowed.has("/documents") && (
          <>
            <Route path="documents" element={<DocumentsScreen />} />
            <Route path="documents/:documentId" element={<DocumentScreen />} />
          </>
        )}
        {allowed.has("/search") && <Route path="search" element={<SearchScreen />} />}
        {allowed.has("/ask") && <Route path="ask" element={<AskScreen />} />}
        {allowed.has("/usage") && (
          <Route
            path="usage"
            element={
              <Suspense fallback={<p>Loading…</p>}>
                <UsageScreen />
              </Suspense>
            }
          />
        )}
        {allowed.has("/keys") && <Route path="keys" element={<KeysScreen />} />}
        <Route path="*" element={<NotFoundScreen />} />
      </Route>
    </Routes>
  );
}
