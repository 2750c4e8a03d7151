package sim

// Template methods: SR problems with their questions and answers, statuses, and templates
// for incremental sync.

import "time"

func (s *Server) apiProblems(c *call) (reply, *apiError) {
	var in struct {
		DomainId            int
		DomainIds           intList
		ForPublicOnly       bool
		OnlyActiveTemplates bool
	}
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	type problem struct {
		ProblemSid                                 int
		ProblemCode, Description                   string
		DomainId                                   int
		OtherSysCode, OtherSysDesc1, OtherSysDesc2 string
	}
	out := []problem{}
	for _, sid := range s.st.problemIDs() {
		p := s.st.Problems[sid]
		if (in.DomainId != 0 && p.DomainId != in.DomainId) || !in.DomainIds.has(p.DomainId) ||
			(in.ForPublicOnly && !p.ForPublicSite) || (in.OnlyActiveTemplates && p.Cancel) {
			continue
		}
		out = append(out, problem{p.ProblemSid, p.ProblemCode, p.Description, p.DomainId, p.OtherSysCode,
			p.OtherSysDesc1, p.OtherSysDesc2})
	}
	return reply{value: out}, nil
}

func (s *Server) apiQA(c *call) (reply, *apiError) {
	var in struct{ ProblemSid int }
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	p, ok := s.st.Problems[in.ProblemSid]
	if !ok {
		return reply{}, fail(codeItemNotFound, "Problem %d not found", in.ProblemSid)
	}
	return reply{value: qaOf(p)}, nil
}

type problemQA struct {
	ProblemSid     int
	BranchingModel bool
	Questions      []Question
	Answers        []Answer
}

func qaOf(p *Problem) problemQA {
	qa := problemQA{ProblemSid: p.ProblemSid, BranchingModel: p.BranchingModel, Questions: p.Questions, Answers: p.Answers}
	if qa.Questions == nil {
		qa.Questions = []Question{}
	}
	if qa.Answers == nil {
		qa.Answers = []Answer{}
	}
	return qa
}

func (s *Server) apiQAs(c *call) (reply, *apiError) {
	var in struct{ ProblemSids intList }
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	out := []problemQA{}
	for _, sid := range in.ProblemSids {
		if p, ok := s.st.Problems[sid]; ok {
			out = append(out, qaOf(p))
		}
	}
	return reply{value: out}, nil
}

func (s *Server) apiStatuses(*call) (reply, *apiError) {
	return reply{value: s.st.Statuses}, nil
}

func (s *Server) apiRequestTemplates(c *call) (reply, *apiError) {
	var in struct {
		CanCreate                                *bool
		DomainId                                 int
		IncludeInactive                          bool
		MinimumDateModified, MaximumDateModified string
		TemplateIds                              intList
	}
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	modified, e := s.dateRange(in.MinimumDateModified, in.MaximumDateModified)
	if e != nil {
		return reply{}, e
	}
	type template struct {
		ProblemSid               int
		ProblemCode, Description string
		Cancel, ForPublicSite    bool
		DateModified             time.Time
		DomainId                 int
		Priority                 string
	}
	out := []template{}
	for _, sid := range s.st.problemIDs() {
		p := s.st.Problems[sid]
		if (in.DomainId != 0 && p.DomainId != in.DomainId) || !in.TemplateIds.has(sid) ||
			(!in.IncludeInactive && p.Cancel) || (modified != nil && !modified(p.DateModified)) {
			continue
		}
		out = append(out, template{p.ProblemSid, p.ProblemCode, p.Description, p.Cancel, p.ForPublicSite,
			p.DateModified, p.DomainId, p.Priority})
	}
	return reply{value: out}, nil
}
