package cityworks

import (
	"context"
	"slices"
	"strconv"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Catalog lists the templates published as request categories (vendorapi.CatalogSource): SR
// problem templates and/or WO templates (options.catalogKinds), each in the agency that owns
// its domain. Public SR templates come with their questions: every question required, private
// when it asks for an e-mail address or a phone number, and follow-up questions of branching
// Q&A only when syncSecondaryQuestions is on. SR templates that are no longer public are
// listed as Retired (request systems deactivate them; old requests refer to them). There is
// no limit on the number: questions are fetched 100 problems per call.
func (c *Connector) Catalog(ctx context.Context) ([]vendorapi.Category, error) {
	if len(c.agencies) == 0 {
		return nil, &vendorapi.Error{Vendor: Vendor, Op: "read catalog", Code: "no_agencies",
			Message: "options.agencies is empty: categories are published into agencies"}
	}
	var out []vendorapi.Category
	kinds := c.opts.catalogKinds()
	if slices.Contains(kinds, KindSR) {
		srs, err := c.srCategories(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, srs...)
	}
	if slices.Contains(kinds, KindWO) {
		wos, err := c.woCategories(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, wos...)
	}
	return out, nil
}

func (c *Connector) srCategories(ctx context.Context) ([]vendorapi.Category, error) {
	all := true
	tpls, err := c.client.RequestTemplates(ctx, RequestTemplateFilter{IncludeInactive: &all})
	if err != nil {
		return nil, err
	}
	var public []int
	for _, t := range tpls {
		if t.IsPublic() {
			public = append(public, t.ProblemSid)
		}
	}
	qas, err := c.client.ProblemQAs(ctx, public...)
	if err != nil {
		return nil, err
	}
	var out []vendorapi.Category
	for _, t := range tpls {
		agency, ok := c.agencyFor(t.DomainId)
		if !ok {
			continue
		}
		cat := vendorapi.Category{ID: strconv.Itoa(t.ProblemSid), Name: t.Description, Kind: KindSR, Agency: agency.ID, Retired: !t.IsPublic()}
		if !cat.Retired {
			if qa, ok := qas[t.ProblemSid]; ok {
				cat.Questions = Questions(qa, c.opts.SyncSecondary())
			}
		}
		out = append(out, cat)
	}
	return out, nil
}

func (c *Connector) woCategories(ctx context.Context) ([]vendorapi.Category, error) {
	var out []vendorapi.Category
	seen := map[string]bool{}
	types := c.opts.woEntityTypes()
	if len(types) == 0 {
		return nil, &vendorapi.Error{Vendor: Vendor, Op: "read catalog", Code: "no_entity_types",
			Message: "WO templates are published but no entity type is known: set options.woEntityTypes"}
	}
	for _, et := range types {
		tpls, err := c.client.WorkOrderTemplates(ctx, WorkOrderTemplateFilter{EntityType: et})
		if err != nil {
			return nil, err
		}
		for _, t := range tpls {
			id := string(t.WOTemplateId)
			if seen[id] || t.IsTemplateClass {
				continue
			}
			seen[id] = true
			agency, ok := c.agencyFor(t.DomainId)
			if !ok {
				continue
			}
			out = append(out, vendorapi.Category{ID: id, Name: t.Description, Kind: KindWO, Agency: agency.ID})
		}
	}
	return out, nil
}

// agencyFor is the agency owning a domain: the first that lists it, else the first that lists
// no domain (the catch-all).
func (c *Connector) agencyFor(domain int) (Agency, bool) {
	for _, a := range c.agencies {
		if slices.Contains(a.DomainIDs, domain) {
			return a, true
		}
	}
	for _, a := range c.agencies {
		if len(a.DomainIDs) == 0 {
			return a, true
		}
	}
	return Agency{}, false
}

// Questions turns a problem's Q&A into catalog questions (the sync rules above). A question
// is secondary when some path through a branching model skips it (it is asked only after
// certain answers); without branching every question is primary.
func Questions(qa ProblemQA, withSecondary bool) []vendorapi.Question {
	qs := slices.Clone(qa.Questions)
	slices.SortStableFunc(qs, func(a, b Question) int { return a.QuestionSequence - b.QuestionSequence })
	secondary := secondaryQuestions(qa, qs)
	var out []vendorapi.Question
	for _, q := range qs {
		if secondary[q.QuestionId] && !withSecondary {
			continue
		}
		vq := vendorapi.Question{ID: strconv.Itoa(q.QuestionId), Text: q.Question, Required: true,
			Private: privateQuestionRe.MatchString(q.Question), Secondary: secondary[q.QuestionId]}
		for _, a := range qa.AnswersTo(q.QuestionId) {
			if a.IsFixedChoice() {
				vq.Answers = append(vq.Answers, a.Answer)
				vq.Choices = append(vq.Choices, vendorapi.Choice{ID: strconv.Itoa(a.AnswerId), Text: a.Answer})
			}
		}
		out = append(out, vq)
	}
	return out
}

// secondaryQuestions finds, in a branching model, the questions that some path from the first
// question to the end avoids: for each question, is the end reachable without passing it?
func secondaryQuestions(qa ProblemQA, ordered []Question) map[int]bool {
	out := map[int]bool{}
	if !qa.BranchingModel || len(ordered) == 0 {
		return out
	}
	next := map[int][]int{} // question → next questions (0 = end)
	for _, q := range ordered {
		answers := qa.AnswersTo(q.QuestionId)
		if len(answers) == 0 {
			next[q.QuestionId] = []int{0}
		}
		for _, a := range answers {
			next[q.QuestionId] = append(next[q.QuestionId], a.NextQuestionId)
		}
	}
	start := ordered[0].QuestionId
	for _, q := range ordered {
		if q.QuestionId == start {
			continue
		}
		// Depth-first from the start, never entering q: reaching the end means q is skippable.
		seen := map[int]bool{start: true}
		stack := []int{start}
		skippable := false
		for len(stack) > 0 && !skippable {
			cur := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, n := range next[cur] {
				switch {
				case n == 0:
					skippable = true
				case n != q.QuestionId && !seen[n]:
					seen[n] = true
					stack = append(stack, n)
				}
			}
		}
		out[q.QuestionId] = skippable
	}
	return out
}
