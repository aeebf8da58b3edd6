import { Link } from "react-router-dom";

/** A path that does not exist, or that this credential may not use: the same answer for both. */
export function NotFoundScreen() {
  return (
    <>
      <h1>Not found</h1>
      <p>
        This page does not exist or is not available to your credential. <Link to="/">Go to the start</Link>.
      </p>
    </>
  );
}
